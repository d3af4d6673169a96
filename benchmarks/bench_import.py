"""Cold import time of mbxai vs openai-python and pydantic-ai.

``import mbxai`` alone loads next to nothing (the package exports lazily), so what is
timed is the import a user writes to get working: the clients themselves
(``from mbxai import AsyncOpenRouterClient, OpenRouterClient`` against
``from openai import AsyncOpenAI, OpenAI`` and ``from pydantic_ai import Agent``). The
bare ``import mbxai`` is timed too, for reference.

Each run is a fresh interpreter that times only the import statement
(``time.perf_counter()`` around it), so interpreter start-up is not counted. Runs of the
contenders alternate and the median is reported. Bytecode caches are warm (one unmeasured
run per statement first): "cold" means a new process, not a first-ever import.

Two settings, because one environment detail decides a large part of mbxai's figure:
httpx imports its command-line client (``httpx._main``: click, rich, pygments) at
``import httpx`` whenever those packages are installed, and in this benchmark's
environment they are (instructor depends on them). ``as installed`` measures the
environment as it is; ``without httpx CLI deps`` hides click, rich and pygments from the
import system, as in an environment where only mbxai (or only the competitor) is installed.

``python -X importtime`` then gives the breakdown of mbxai's client import: self time
summed per top-level package, and mbxai's own slowest modules.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections import Counter
from typing import Any

from _common import version_of

#: label -> (the statement timed, the distribution it comes from)
IMPORTS = {
    "mbxai": ("from mbxai import AsyncOpenRouterClient, OpenRouterClient", "mbxai"),
    "openai": ("from openai import AsyncOpenAI, OpenAI", "openai"),
    "pydantic_ai": ("from pydantic_ai import Agent", "pydantic-ai-slim"),
    "import mbxai": ("import mbxai", "mbxai"),
}
CLIENT_IMPORT = IMPORTS["mbxai"][0]
HIDE_CLI = "import sys; sys.modules.update(dict.fromkeys(['click', 'rich', 'pygments'], None)); "
TIMED = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter running our own snippet
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True
    )


def import_seconds(statement: str, *, hide_cli: bool) -> float:
    """Seconds an import statement takes in a new interpreter."""
    prefix = HIDE_CLI if hide_cli else ""
    return float(_python(prefix + TIMED.format(statement=statement)).stdout.strip())


def available(*, hide_cli: bool) -> list[str]:
    """The labels whose statement runs here (installed, and importable in this setting)."""
    found = []
    for label, (statement, _) in IMPORTS.items():
        try:
            _python((HIDE_CLI if hide_cli else "") + statement)
        except subprocess.CalledProcessError:
            continue
        found.append(label)
    return found


def breakdown(
    statement: str = CLIENT_IMPORT, module: str = "mbxai", *, runs: int = 5, hide_cli: bool = False
) -> dict[str, Any]:
    """Median ``-X importtime`` self time per top-level package, and per mbxai module."""
    per_package: dict[str, list[float]] = {}
    per_module: dict[str, list[float]] = {}
    totals: list[float] = []
    for _ in range(runs):
        stderr = _python((HIDE_CLI if hide_cli else "") + statement, "-X", "importtime")
        packages: Counter[str] = Counter()
        own: Counter[str] = Counter()
        total = 0
        for match in _LINE.finditer(stderr.stderr):
            self_us, _, _, name = match.groups()
            packages[name.split(".")[0]] += int(self_us)
            total += int(self_us)
            if name.split(".")[0] == module:
                own[name] += int(self_us)
        totals.append(total / 1e6)
        for key, us in packages.items():
            per_package.setdefault(key, []).append(us / 1e6)
        for key, us in own.items():
            per_module.setdefault(key, []).append(us / 1e6)

    def top(table: dict[str, list[float]], k: int) -> dict[str, float]:
        medians = {key: statistics.median(v + [0.0] * (runs - len(v))) for key, v in table.items()}
        return dict(sorted(medians.items(), key=lambda kv: -kv[1])[:k])

    return {
        "statement": statement,
        "total_s": statistics.median(totals),  # all modules, interpreter start-up's included
        "self_s_by_package": top(per_package, 10),
        "self_s_by_module": top(per_module, 8),
        "hide_cli": hide_cli,
    }


def run(*, runs: int) -> dict[str, Any]:
    settings: dict[str, dict[str, Any]] = {}
    for setting, hide in (("as installed", False), ("without httpx CLI deps", True)):
        # The second setting is about mbxai vs openai; pydantic_ai (the slowest) sits it out.
        usable = [
            label for label in available(hide_cli=hide) if not hide or label in ("mbxai", "openai")
        ]
        for label in usable:  # warm the bytecode caches
            import_seconds(IMPORTS[label][0], hide_cli=hide)
        times: dict[str, list[float]] = {label: [] for label in usable}
        for r in range(runs):
            for label in usable[r % len(usable) :] + usable[: r % len(usable)]:
                times[label].append(import_seconds(IMPORTS[label][0], hide_cli=hide))
        settings[setting] = {
            label: {
                "statement": IMPORTS[label][0],
                "median_s": statistics.median(t),
                "all_s": t,
                "version": version_of(IMPORTS[label][1]),
            }
            for label, t in times.items()
        }
    return {
        "runs": runs,
        "settings": settings,
        "breakdown": breakdown(),
        "httpx_cli_loaded": _loads_httpx_cli(),
    }


def _loads_httpx_cli() -> bool:
    """Whether importing mbxai's clients drags in httpx's command-line client here."""
    out = _python(f"import sys; {CLIENT_IMPORT}; print('httpx._main' in sys.modules)").stdout
    return out.strip() == "True"
