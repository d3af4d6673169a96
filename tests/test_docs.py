"""The documentation's Python snippets are real code: they compile, import names that
exist, and use no undefined names. (Running them needs a key; the examples run offline.)"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

SNIPPETS = [
    pytest.param(block, id=f"{page.name}:{number}")
    for page in sorted(DOCS.glob("*.md"))
    for number, block in enumerate(_BLOCK.findall(page.read_text(encoding="utf-8")), 1)
]


def test_the_docs_have_snippets() -> None:
    assert len(SNIPPETS) > 20


@pytest.mark.parametrize("source", SNIPPETS)
def test_snippet_compiles_and_its_imports_exist(source: str) -> None:
    tree = compile(source, "<snippet>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    assert isinstance(tree, ast.Module)
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    exec(compile(ast.Module(body=imports, type_ignores=[]), "<snippet>", "exec"), {})  # noqa: S102


def test_snippets_use_no_undefined_names(tmp_path: Path) -> None:
    for number, param in enumerate(SNIPPETS):
        (tmp_path / f"snippet_{number}.py").write_text(param.values[0], encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "F401,F821,F811",
            "--output-format",
            "concise",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    names = {f"snippet_{n}.py": p.id for n, p in enumerate(SNIPPETS)}
    report = re.sub(r"\S*(snippet_\d+\.py)", lambda m: str(names[m.group(1)]), result.stdout)
    assert result.returncode == 0, report
