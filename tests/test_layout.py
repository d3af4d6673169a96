"""The package's layout keeps its rules: no import cycles, honest ``__all__`` lists, every
exception in ``_errors``, and only I/O code in the hand-written async package.

These are read from the source (with ``ast``), so a new module is checked as it lands.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import mbxai

SRC = Path(mbxai.__file__).parent


def _modules(*, generated: bool = False) -> dict[str, Path]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        if "_sync" in rel.parts and not generated:
            continue
        found[".".join(rel.parts).removesuffix(".__init__")] = path
    return found


def _package(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(tree: ast.AST) -> list[ast.ImportFrom | ast.Import]:
    """Every import, at module level or inside functions, except under TYPE_CHECKING."""
    found: list[ast.ImportFrom | ast.Import] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def _resolve(package: str, node: ast.ImportFrom) -> str:
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                target = _resolve(_package(name, path), node)
                submodules = {f"{target}.{a.name}" for a in node.names} & modules.keys()
                if submodules:
                    graph[name] |= submodules
                elif target in modules and target != name:
                    graph[name].add(target)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names} & modules.keys()
    return graph


def test_no_module_imports_itself_in_a_circle() -> None:
    graph = _graph()
    cycles = []
    done: set[str] = set()

    def walk(name: str, path: list[str]) -> None:
        if name in path:
            cycles.append([*path[path.index(name) :], name])
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            walk(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        walk(name, [])
    assert cycles == [], "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_every_name_imported_between_modules_is_in_the_exporters_all() -> None:
    wrong = []
    for name, path in _modules(generated=True).items():
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            target = _resolve(_package(name, path), node)
            module = importlib.import_module(target)
            exported = getattr(module, "__all__", None)
            for alias in node.names:
                if hasattr(module, "__path__") and importlib.util.find_spec(
                    f"{target}.{alias.name}"
                ):
                    continue  # a submodule
                if exported is None or alias.name not in exported:
                    wrong.append(f"{name} imports {alias.name} from {target}")
    assert wrong == [], "\n".join(wrong)


def test_every_exception_class_lives_in_errors() -> None:
    outside = []
    for name, path in _modules().items():
        if name == "mbxai._errors":
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                value = getattr(importlib.import_module(name), node.name, None)
                if isinstance(value, type) and issubclass(value, BaseException | Warning):
                    outside.append(f"{name}.{node.name}")
    assert outside == [], outside


def test_the_async_package_holds_only_code_that_does_io() -> None:
    """What has no ``await`` (and names no async-only type) is the same in both flavours:
    it belongs in a shared module, not in ``_async`` where it would be generated twice."""
    flavour_free = []
    for name, path in _modules().items():
        if not name.startswith("mbxai._async.") or path.name == "__init__.py":
            continue
        definitions = [
            node
            for node in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        ]
        # async-only: does I/O, or names an async type (or a definition here that does)
        io = {node.name for node in definitions if isinstance(node, ast.AsyncFunctionDef)}
        changed = True
        while changed:
            changed = False
            for node in definitions:
                if node.name in io:
                    continue
                inner = list(ast.walk(node))
                names = {
                    n.id if isinstance(n, ast.Name) else n.attr
                    for n in inner
                    if isinstance(n, ast.Name | ast.Attribute)
                }
                if (
                    any(
                        isinstance(
                            n, ast.AsyncFunctionDef | ast.Await | ast.AsyncFor | ast.AsyncWith
                        )
                        for n in inner
                    )
                    or any(n.startswith(("Async", "async_")) for n in names)
                    or names & io
                ):
                    io.add(node.name)
                    changed = True
        flavour_free += [f"{name}.{node.name}" for node in definitions if node.name not in io]
    assert flavour_free == [], flavour_free
