"""Cold import time of ``import mbxai`` vs ``import openai`` and ``import pydantic_ai``.

Each run is a fresh interpreter that times only the import statement
(``time.perf_counter()`` around it), so interpreter start-up is not counted. Runs of the
contenders alternate and the median is reported. Bytecode caches are warm (one unmeasured
run per module first): "cold" means a new process, not a first-ever import.

Two settings, because one environment detail decides a large part of mbxai's figure:
httpx imports its command-line client (``httpx._main``: click, rich, pygments) at
``import httpx`` whenever those packages are installed, and in this benchmark's
environment they are (instructor depends on them). ``as installed`` measures the
environment as it is; ``without httpx CLI deps`` hides click, rich and pygments from the
import system, as in an environment where only mbxai (or only the competitor) is installed.

``python -X importtime`` then gives mbxai's breakdown: self time summed per top-level
package, and mbxai's own slowest modules.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections import Counter
from typing import Any

from _common import version_of

MODULES = {"mbxai": "mbxai", "openai": "openai", "pydantic_ai": "pydantic-ai-slim"}
HIDE_CLI = "import sys; sys.modules.update(dict.fromkeys(['click', 'rich', 'pygments'], None)); "
TIMED = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter running our own snippet
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True
    )


def import_seconds(module: str, *, hide_cli: bool) -> float:
    """Seconds ``import module`` takes in a new interpreter."""
    prefix = HIDE_CLI if hide_cli else ""
    return float(_python(prefix + TIMED.format(module=module)).stdout.strip())


def available() -> list[str]:
    found = []
    for module in MODULES:
        try:
            _python(f"import {module}")
        except subprocess.CalledProcessError:
            continue  # not installed, or does not import without the hidden packages
        found.append(module)
    return found


def breakdown(module: str = "mbxai", *, runs: int = 5, hide_cli: bool = False) -> dict[str, Any]:
    """Median ``-X importtime`` self time per top-level package, and per mbxai module."""
    per_package: dict[str, list[float]] = {}
    per_module: dict[str, list[float]] = {}
    totals: list[float] = []
    for _ in range(runs):
        stderr = _python((HIDE_CLI if hide_cli else "") + f"import {module}", "-X", "importtime")
        packages: Counter[str] = Counter()
        own: Counter[str] = Counter()
        total = 0
        for match in _LINE.finditer(stderr.stderr):
            self_us, cumulative_us, indent, name = match.groups()
            packages[name.split(".")[0]] += int(self_us)
            if name.split(".")[0] == module:
                own[name] += int(self_us)
            if name == module and len(indent) <= 1:
                total = int(cumulative_us)
        totals.append(total / 1e6)
        for key, us in packages.items():
            per_package.setdefault(key, []).append(us / 1e6)
        for key, us in own.items():
            per_module.setdefault(key, []).append(us / 1e6)

    def top(table: dict[str, list[float]], k: int) -> dict[str, float]:
        medians = {key: statistics.median(v + [0.0] * (runs - len(v))) for key, v in table.items()}
        return dict(sorted(medians.items(), key=lambda kv: -kv[1])[:k])

    return {
        "total_s": statistics.median(totals),
        "self_s_by_package": top(per_package, 10),
        "self_s_by_module": top(per_module, 8),
        "hide_cli": hide_cli,
    }


def run(*, runs: int) -> dict[str, Any]:
    modules = available()
    settings: dict[str, dict[str, Any]] = {}
    for label, hide in (("as installed", False), ("without httpx CLI deps", True)):
        # The second setting is about mbxai vs openai; pydantic_ai (the slowest) sits it out.
        usable = [m for m in modules if not (hide and m == "pydantic_ai") and _usable(m, hide)]
        for module in usable:  # warm the bytecode caches
            import_seconds(module, hide_cli=hide)
        times: dict[str, list[float]] = {m: [] for m in usable}
        for r in range(runs):
            for module in usable[r % len(usable) :] + usable[: r % len(usable)]:
                times[module].append(import_seconds(module, hide_cli=hide))
        settings[label] = {
            m: {"median_s": statistics.median(t), "all_s": t, "version": version_of(MODULES[m])}
            for m, t in times.items()
        }
    return {
        "runs": runs,
        "settings": settings,
        "breakdown": breakdown("mbxai"),
        "httpx_cli_loaded": _loads_httpx_cli(),
    }


def _usable(module: str, hide_cli: bool) -> bool:
    if not hide_cli:
        return True
    try:
        _python(HIDE_CLI + f"import {module}")
    except subprocess.CalledProcessError:
        return False
    return True


def _loads_httpx_cli() -> bool:
    """Whether ``import mbxai`` drags in httpx's command-line client here."""
    out = _python("import sys, mbxai; print('httpx._main' in sys.modules)").stdout
    return out.strip() == "True"
