"""The generator's --check mode catches every way the sync twin can drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of what the generator reads and writes."""
    for part in ("codegen", "src/mbxai", "tests/_async", "tests/_sync"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def check(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo / "codegen" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_committed_twin_is_fresh(repo: Path) -> None:
    result = check(repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_edited_generated_line_fails(repo: Path) -> None:
    target = repo / "src/mbxai/_sync/client.py"
    text = target.read_text()
    target.write_text(text.replace("max_retries: int = 3", "max_retries: int = 4", 1))
    result = check(repo)
    assert result.returncode == 1
    assert "stale src/mbxai/_sync/client.py" in result.stdout
    assert "-        max_retries: int = 4" in result.stdout


def test_a_line_added_at_the_end_fails(repo: Path) -> None:
    target = repo / "src/mbxai/_sync/streaming.py"
    target.write_text(target.read_text() + "\nEXTRA = 1\n")
    assert check(repo).returncode == 1


def test_a_stray_file_in_the_sync_package_fails(repo: Path) -> None:
    (repo / "src/mbxai/_sync/stray.py").write_text("x = 1\n")
    result = check(repo)
    assert result.returncode == 1
    assert "orphaned src/mbxai/_sync/stray.py" in result.stdout


def test_a_missing_generated_file_fails(repo: Path) -> None:
    (repo / "tests/_sync/test_client.py").unlink()
    result = check(repo)
    assert result.returncode == 1
    assert "missing tests/_sync/test_client.py" in result.stdout


def test_an_unused_rule_fails(repo: Path) -> None:
    script = repo / "codegen" / "generate.py"
    script.write_text(
        script.read_text().replace("RENAMES = {\n", 'RENAMES = {\n    "never_used_name": "x",\n', 1)
    )
    result = check(repo)
    assert result.returncode == 1
    assert "never_used_name" in result.stderr


def test_generation_is_reproducible(repo: Path) -> None:
    subprocess.run(
        [sys.executable, str(repo / "codegen" / "generate.py")], check=True, capture_output=True
    )
    assert check(repo).returncode == 0
    generated = (repo / "src/mbxai/_sync/client.py").read_text()
    assert generated.startswith("# This file is generated from src/mbxai/_async/client.py")
    assert "await " not in generated
    assert "async def" not in generated
    assert "class OpenRouterClient(BaseClient, SeedMethods)" in generated
