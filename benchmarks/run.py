"""mbxai's benchmarks, side by side with the alternatives: ``nox -s bench``.

Sections (all by default, or pick with ``--only``):

* ``overhead``: per-call cost of a chat completion and of a structured parse, async and
  sync, on an in-memory transport (mbxai vs openai-python vs instructor vs raw httpx);
* ``import``: cold ``import`` time in fresh interpreters (mbxai vs openai vs pydantic_ai);
* ``concurrency``: 1000 concurrent calls against a loopback server answering after 100 ms;
* ``tls``: bursts of 100 and 1000 concurrent calls over HTTPS (HTTP/2 and HTTP/1.1 offered
  by ALPN, a test CA), mbxai beside openai-python, raw httpx (both protocols) and aiohttp;
* ``agent``: LLM calls and prompt bytes of fixed agent runs on the offline fake (the seed
  README's basic agent on one task, and a 2-task run).

Prints a table of medians and ratios, writes ``benchmarks/results/latest.json`` and the
chart ``docs/images/benchmarks.png``. The machines are small and noisy: read the ratios,
which compare contenders measured interleaved in the same run, not the absolute times.
``--quick`` is a smoke run (seconds, not minutes; its figures are not meaningful).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_agent  # noqa: E402 - after the path tweak that makes the siblings importable
import bench_concurrency  # noqa: E402
import bench_import  # noqa: E402
import bench_overhead  # noqa: E402
import bench_tls  # noqa: E402
import report  # noqa: E402
from _common import Samples, version_of  # noqa: E402

SECTIONS = ("overhead", "import", "concurrency", "tls", "agent")
DISTRIBUTIONS = (
    "mbxai",
    "httpx",
    "httpcore",
    "pydantic",
    "stamina",
    "openai",
    "httpx2",
    "instructor",
    "pydantic-ai-slim",
    "httpx-aiohttp",
    "aiohttp",
    "h2",
    "hypercorn",
    "trustme",
)


def _summary(samples: dict[str, Samples], rounds: int, batch: int) -> dict[str, Any]:
    return {
        "rounds": rounds,
        "batch": batch,
        "contenders": {
            name: {
                "median_us": s.median * 1e6,
                "iqr_us": [v * 1e6 for v in s.spread],
                "all_us": [v * 1e6 for v in s.per_call],
            }
            for name, s in samples.items()
        },
    }


def overhead(*, quick: bool) -> dict[str, Any]:
    rounds, batch, warmup = (5, 10, 5) if quick else (60, 25, 50)
    found = {}
    for kind in ("chat", "parse"):
        for flavour, runner in (
            ("async", bench_overhead.run_async),
            ("sync", bench_overhead.run_sync),
        ):
            label = f"{kind}/{flavour}"
            print(f"  overhead {label} ...", flush=True)
            found[label] = _summary(
                runner(kind, rounds=rounds, batch=batch, warmup=warmup), rounds, batch
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument(
        "--chart", type=Path, default=HERE.parent / "docs" / "images" / "benchmarks.png"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "quick": args.quick,
            "versions": {d: version_of(d) for d in DISTRIBUTIONS},
        }
    }
    sections = {
        "overhead": lambda: overhead(quick=args.quick),
        "import": lambda: bench_import.run(runs=3 if args.quick else 9),
        "concurrency": lambda: (
            bench_concurrency.run(n=200, delay=0.1, reps=1, budget_s=5.0)
            if args.quick
            else bench_concurrency.run(n=1000, delay=0.1, reps=5, budget_s=15.0)
        ),
        "tls": lambda: (
            bench_tls.run(sizes=(100,), reps=1, budget_s=5.0)
            if args.quick
            else bench_tls.run(sizes=(100, 1000), reps=3, budget_s=12.0)
        ),
        "agent": lambda: bench_agent.run(runs=3 if args.quick else 20),
    }
    results["meta"]["section_s"] = {}
    for name, section in sections.items():
        if name in args.only:
            print(f"{name} ...", flush=True)
            start = time.perf_counter()
            results[name] = section()
            results["meta"]["section_s"][name] = round(time.perf_counter() - start, 1)
    results["goals"] = report.goals(results)
    results["meta"]["duration_s"] = time.perf_counter() - started

    print()
    print(report.table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {args.json}")
    if version_of("matplotlib"):
        report.chart(results, args.chart)
        print(f"wrote {args.chart}")
    else:
        print("matplotlib is not installed: no chart")
    print(f"took {results['meta']['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
