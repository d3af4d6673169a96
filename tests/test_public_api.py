"""The package surface: exports, and the sync twin matching the async original."""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from pathlib import Path

import pytest

import mbxai
import mbxai.agent
from mbxai import _async, _sync


def test_all_is_sorted_complete_and_importable() -> None:
    assert list(mbxai.__all__) == sorted(mbxai.__all__)
    assert len(set(mbxai.__all__)) == len(mbxai.__all__)
    for name in mbxai.__all__:
        assert hasattr(mbxai, name), name
    public = {
        name
        for name, value in vars(mbxai).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(mbxai.__all__), public - set(mbxai.__all__)


def test_every_async_class_has_a_sync_twin_with_the_same_api() -> None:
    for name in _async.__all__:
        assert name.startswith("Async"), name
        sync_name = name.removeprefix("Async")
        assert sync_name in _sync.__all__
        async_cls, sync_cls = getattr(_async, name), getattr(_sync, sync_name)
        async_methods = {n for n in dir(async_cls) if not n.startswith("_")}
        sync_methods = {n for n in dir(sync_cls) if not n.startswith("_")}
        renamed = {"aclose": "close"}
        expected = {renamed.get(n, n) for n in async_methods}
        assert expected <= sync_methods, expected - sync_methods
        for method in async_methods - set(renamed):
            a, s = getattr(async_cls, method), getattr(sync_cls, method)
            if inspect.isfunction(a):
                assert inspect.iscoroutinefunction(a) != inspect.iscoroutinefunction(s) or not (
                    inspect.iscoroutinefunction(a)
                ), method
                assert list(inspect.signature(a).parameters) == list(
                    inspect.signature(s).parameters
                ), method


def test_seed_compat_methods_exist_on_sync_clients_only() -> None:
    for method in ("acreate", "achat", "aparse"):
        assert inspect.iscoroutinefunction(getattr(mbxai.OpenRouterClient, method))
        assert not hasattr(mbxai.AsyncOpenRouterClient, method)


def test_typed_marker_ships() -> None:
    import importlib.resources

    assert importlib.resources.files("mbxai").joinpath("py.typed").is_file()


def _typed_imports(package: types.ModuleType) -> dict[str, tuple[str, ...]]:
    """What the package imports under ``if TYPE_CHECKING:`` (relative module -> names)."""
    tree = ast.parse(Path(inspect.getfile(package)).read_text(encoding="utf-8"))
    found: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "_typing.TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                module = "." * statement.level + (statement.module or "")
                names = tuple(sorted(alias.name for alias in statement.names))
                found[module] = tuple(sorted(found.get(module, ()) + names))
    return found


@pytest.mark.parametrize(
    "package", [mbxai, mbxai.agent, _async, _sync], ids=["mbxai", "agent", "_async", "_sync"]
)
def test_the_lazy_table_and_the_typed_imports_agree(package: types.ModuleType) -> None:
    table = {module: tuple(sorted(names)) for module, names in package._LAZY.items()}
    assert _typed_imports(package) == table
    lazy = {name for names in table.values() for name in names}
    eager = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - lazy  # names already loaded by earlier tests count as lazy still
    assert sorted(eager | lazy | ({"__version__"} & set(package.__all__))) == package.__all__
    for name in sorted(lazy):
        value = getattr(package, name)
        assert value.__name__ == name, name
        module = importlib.import_module(table_module(table, name), package.__name__)
        assert getattr(module, name) is value


def table_module(table: dict[str, tuple[str, ...]], name: str) -> str:
    return next(module for module, names in table.items() if name in names)


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="'Nope'"):
        mbxai.Nope  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError):
        from mbxai import Nope  # type: ignore[attr-defined]  # noqa: F401
