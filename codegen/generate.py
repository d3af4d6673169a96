"""Generate the sync package and sync tests from their hand-written async sources.

    python codegen/generate.py          # (re)write every generated file
    python codegen/generate.py --check  # exit 1 with a diff if anything is stale

unasync strips ``async``/``await`` and renames tokens; this script adds what mbxai
needs on top of it:

* naming: ``AsyncX`` becomes ``X`` (unasync's default would say ``SyncX``) and
  ``async_x`` becomes ``x``, which is how the escape-hatch module ``mbxai._concurrency``
  pairs its two flavours; explicit renames (``aclose`` -> ``close`` ...) are listed below;
* docstrings and comments are rewritten too, so sync docs do not say ``await``;
* a line ending with ``# async only`` is left out of the sync twin;
* every explicit rule must be used at least once, or the run fails (rules do not rot);
* output is formatted with the pinned ruff, then either written or compared: ``--check``
  reports stale, missing and orphaned files, with a unified diff.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import tokenize_rt
import unasync

ROOT = Path(__file__).resolve().parent.parent

#: (async source dir, generated sync dir), relative to the repository root.
TREES = (
    ("src/mbxai/_async", "src/mbxai/_sync"),
    ("tests/_async", "tests/_sync"),
    ("examples/_async", "examples/_sync"),
)

#: Explicit token renames beyond unasync's defaults and the Async/async_ prefix rules.
RENAMES = {
    "aclose": "close",
    "aclosing": "closing",  # contextlib
    "aread": "read",
    "aiter_bytes": "iter_bytes",
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "create_async_engine": "create_engine",  # SQLAlchemy
    "aiosqlite": "pysqlite",  # SQLAlchemy's SQLite drivers ("sqlite+aiosqlite" in URLs)
}

#: Exact text replacements applied after unasync, for what is not a single token.
LINE_RULES = {
    "pytestmark = pytest.mark.anyio\n": "",
    "redis.asyncio": "redis",  # redis-py's asyncio client mirrors the sync one
    "sqlalchemy.ext.asyncio": "sqlalchemy",  # AsyncEngine & co. -> sqlalchemy.Engine & co.
}

#: A hand-written line ending with this comment exists in the async source only: the sync
#: twin has nothing to do there (an asyncio-only check, say), so the line is left out.
ASYNC_ONLY = "# async only"

HEADER = (
    "# This file is generated from {source} by codegen/generate.py.\n"
    "# Do not edit it: change the async source and run `python codegen/generate.py`.\n"
)

_PROSE_WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_PROSE_KEYWORDS = re.compile(r"\bawait\s+|\basync\s+(?=(?:with|for|def)\b)")


class MbxaiRule(unasync.Rule):  # type: ignore[misc]
    """unasync's rule with mbxai's naming, prose rewriting and usage counting."""

    def __init__(self, fromdir: str, todir: str, used: Counter[str]) -> None:
        super().__init__(fromdir, todir, additional_replacements=RENAMES)
        self.used = used

    def _unasync_name(self, name: str) -> str:
        if name in RENAMES:
            self.used[name] += 1
            return RENAMES[name]
        if name in self.token_replacements:
            return str(self.token_replacements[name])
        if len(name) > 5 and name.startswith("Async") and name[5].isupper():
            return name[5:]
        if len(name) > 6 and name.startswith("async_"):
            return name[6:]
        return name

    def _prose(self, text: str) -> str:
        text = _PROSE_KEYWORDS.sub("", text)
        return _PROSE_WORD.sub(lambda m: self._unasync_name(m.group(0)), text)

    def convert(self, source: str) -> str:
        tokens = []
        for token in self._unasync_tokens(tokenize_rt.src_to_tokens(source)):
            if token.name in ("STRING", "COMMENT", "FSTRING_MIDDLE"):
                token = token._replace(src=self._prose(token.src))
            tokens.append(token)
        return str(tokenize_rt.tokens_to_src(tokens))


@dataclass
class Generated:
    source: Path
    target: Path  # relative to ROOT
    text: str


def generate_all(used: Counter[str]) -> list[Generated]:
    out = []
    for src_dir, dst_dir in TREES:
        rule = MbxaiRule(src_dir, dst_dir, used)
        for path in sorted((ROOT / src_dir).rglob("*.py")):
            rel = path.relative_to(ROOT / src_dir)
            text = rule.convert(path.read_text(encoding="utf-8"))
            lines = text.splitlines(keepends=True)
            kept = [line for line in lines if not line.rstrip().endswith(ASYNC_ONLY)]
            if len(kept) != len(lines):
                used[ASYNC_ONLY] += 1
                text = "".join(kept)
            for old, new in LINE_RULES.items():
                if old in text:
                    used[old] += 1
                    text = text.replace(old, new)
            header = HEADER.format(source=path.relative_to(ROOT).as_posix())
            out.append(Generated(path, Path(dst_dir) / rel, header + text))
    return out


def format_tree(base: Path, files: list[Path]) -> None:
    """Format with the repository's ruff settings, as if the files were in the repo."""
    config = str(ROOT / "pyproject.toml")
    paths = [str(base / f) for f in files]
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run(
        [*ruff, "check", "--config", config, "--select", "I", "--fix", "--quiet", *paths],
        check=True,
    )
    subprocess.run([*ruff, "format", "--config", config, "--quiet", *paths], check=True)


def existing_generated() -> set[Path]:
    found = set()
    for _, dst_dir in TREES:
        root = ROOT / dst_dir
        if root.exists():
            found |= {p.relative_to(ROOT) for p in root.rglob("*.py")}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="compare instead of writing; exit 1 if stale"
    )
    args = parser.parse_args(argv)

    used: Counter[str] = Counter()
    generated = generate_all(used)
    unused = sorted(set(RENAMES) - set(used)) + sorted(
        repr(k) for k in {*LINE_RULES, ASYNC_ONLY} - set(used)
    )
    if unused:
        print(f"codegen: rules never used (remove them): {', '.join(unused)}", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for item in generated:
            (base / item.target).parent.mkdir(parents=True, exist_ok=True)
            (base / item.target).write_text(item.text, encoding="utf-8")
        format_tree(base, [g.target for g in generated])
        fresh = {g.target: (base / g.target).read_text(encoding="utf-8") for g in generated}

        if not args.check:
            for _, dst_dir in TREES:
                shutil.rmtree(ROOT / dst_dir, ignore_errors=True)
            for target, text in fresh.items():
                (ROOT / target).parent.mkdir(parents=True, exist_ok=True)
                (ROOT / target).write_text(text, encoding="utf-8")
            print(f"codegen: wrote {len(fresh)} files")
            return 0

    problems = 0
    for target, text in sorted(fresh.items()):
        path = ROOT / target
        if not path.exists():
            print(f"codegen: missing {target}")
            problems += 1
            continue
        current = path.read_text(encoding="utf-8")
        if current != text:
            problems += 1
            print(f"codegen: stale {target}")
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"{target} (committed)",
                    f"{target} (generated)",
                )
            )
    for orphan in sorted(existing_generated() - set(fresh)):
        print(f"codegen: orphaned {orphan} (no async source generates it)")
        problems += 1
    if problems:
        print(
            f"codegen: {problems} generated file(s) out of date; run `python codegen/generate.py`"
        )
        return 1
    print(f"codegen: {len(fresh)} generated files are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
