"""Turn the measurements into the printed table, the goal verdicts and the chart."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

#: (label, what to divide, by what, target): ratios of medians measured in the same run.
OVERHEAD_GOALS = [
    ("chat/async", "mbxai", "openai", 0.5),
    ("chat/sync", "mbxai", "openai", 0.5),
    ("chat/async", "mbxai", "raw httpx", 1.3),
    ("chat/sync", "mbxai", "raw httpx", 1.3),
    ("parse/async", "mbxai", "instructor", 0.3),
    ("parse/sync", "mbxai", "instructor", 0.3),
]
CONCURRENCY_GOAL = 1.3  # wall time of the burst / one latency
IMPORT_GOAL = 0.4  # mbxai / openai
AGENT_BYTES_GOAL = 0.5  # the seed's basic agent run: prompt bytes / those when the goal was set
#: Over TLS, bursts of 1000: the default client's wall time / the fastest raw stack's, and
#: / openai-python's.
TLS_GOALS = [("fastest_raw", 1.3), ("openai", 0.4)]
TLS_GOAL_CALLS = "1000"


def paired_ratio(top: list[float], bottom: list[float]) -> float:
    """Median over rounds of top/bottom, each pair measured back to back in one round.

    On a noisy machine this is steadier than a ratio of medians: a slow spell that hits
    one round slows both sides of that round's pair.
    """
    pairs = [t / b for t, b in zip(top, bottom, strict=False) if b > 0]
    return statistics.median(pairs) if pairs else float("nan")


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every goal with its measured ratio and whether it is met."""
    found: list[dict[str, Any]] = []
    overhead = results.get("overhead", {})
    for group, top, bottom, target in OVERHEAD_GOALS:
        rows = overhead.get(group, {}).get("contenders", {})
        if top in rows and bottom in rows:
            ratio = paired_ratio(rows[top]["all_us"], rows[bottom]["all_us"])
            found.append(_goal(f"{group}: {top} / {bottom}", ratio, target))
    for setting, rows in results.get("import", {}).get("settings", {}).items():
        if "mbxai" in rows and "openai" in rows:
            ratio = paired_ratio(rows["mbxai"]["all_s"], rows["openai"]["all_s"])
            found.append(_goal(f"import ({setting}): mbxai / openai", ratio, IMPORT_GOAL))
    conc = results.get("concurrency", {})
    for name, row in conc.get("results", {}).items():
        if name.startswith("mbxai"):
            found.append(
                _goal(
                    f"{conc['calls']} concurrent calls: {name} wall / latency",
                    row["x_latency"],
                    CONCURRENCY_GOAL,
                )
            )
    tls = results.get("tls", {}).get("bursts", {}).get(TLS_GOAL_CALLS)
    if tls:
        rows = tls["results"]
        for versus, target in TLS_GOALS:
            bottom = tls["fastest_raw"] if versus == "fastest_raw" else versus
            if "mbxai" in rows and bottom in rows:
                ratio = rows["mbxai"]["wall_s_median"] / rows[bottom]["wall_s_median"]
                found.append(
                    _goal(f"TLS {TLS_GOAL_CALLS} calls: mbxai wall / {bottom}", ratio, target)
                )
    seed = results.get("agent", {}).get("seed_basic")
    if seed:
        found.append(
            _goal(
                "agent prompt bytes (seed's basic, 1 task) / 8.5 kB",
                seed["prompt_bytes_total"] / seed["bytes_when_goal_set"],
                AGENT_BYTES_GOAL,
            )
        )
    return found


def _goal(label: str, ratio: float, target: float) -> dict[str, Any]:
    return {"goal": label, "ratio": ratio, "target": target, "met": ratio <= target}


# -- the printed table ------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    out: list[str] = []
    overhead = results.get("overhead")
    if overhead:
        out.append(
            "Per-call overhead (in-memory transport, identical response bytes): median us per "
            "call, IQR, and ratios (median of the per-round ratios, contenders interleaved)"
        )
        for group, data in overhead.items():
            rows = data["contenders"]
            refs = [r for r in ("openai", "raw httpx", "instructor") if r in rows]
            out.append(
                f"\n  {group}  ({data['rounds']} rounds x {data['batch']} calls, interleaved)"
            )
            out.append(
                f"  {'contender':<14}{'median us':>11}{'IQR us':>17}"
                + "".join(f"{'/ ' + r:>14}" for r in refs)
            )
            for name, row in rows.items():
                lo, hi = row["iqr_us"]
                ratios = "".join(
                    f"{paired_ratio(row['all_us'], rows[r]['all_us']):>13.2f}x" for r in refs
                )
                out.append(
                    f"  {name:<14}{row['median_us']:>11.1f}{f'{lo:.0f}-{hi:.0f}':>17}{ratios}"
                )
            if "mbxai" in rows and "mbxai traced" in rows:
                off, on = rows["mbxai"], rows["mbxai traced"]
                out.append(
                    f"  tracing: off {off['median_us']:.1f} us, on {on['median_us']:.1f} us per "
                    f"call (+{on['median_us'] - off['median_us']:.1f} us, "
                    f"{paired_ratio(on['all_us'], off['all_us']):.2f}x)"
                )
    imports = results.get("import")
    if imports:
        out.append(
            f"\nCold import time (fresh interpreter, import statement only; "
            f"median of {imports['runs']} runs). Statements: "
            + "; ".join(
                f"{name}: `{row['statement']}`"
                for name, row in imports["settings"]["as installed"].items()
                if name != "import mbxai"
            )
        )
        for setting, rows in imports["settings"].items():
            base = rows.get("openai", {}).get("median_s")
            out.append(f"  {setting}:")
            for name, row in rows.items():
                ratio = (
                    f"{paired_ratio(row['all_s'], rows['openai']['all_s']):6.2f}x openai"
                    if base
                    else ""
                )
                out.append(f"    {name:<14}{row['median_s'] * 1000:>8.0f} ms   {ratio}")
        bd = imports["breakdown"]
        out.append(
            f"  -X importtime breakdown of `{bd['statement']}` (self time, median; "
            f"all modules {bd['total_s'] * 1000:.0f} ms"
            f"{'; httpx CLI loaded' if imports.get('httpx_cli_loaded') else ''}):"
        )
        out.append(
            "    by package: "
            + ", ".join(f"{k} {v * 1000:.0f}" for k, v in bd["self_s_by_package"].items())
            + " (ms)"
        )
        out.append(
            "    mbxai's own: "
            + ", ".join(f"{k} {v * 1000:.0f}" for k, v in bd["self_s_by_module"].items())
            + " (ms)"
        )
    conc = results.get("concurrency")
    if conc:
        rows = conc["results"]
        openai = rows.get("openai", {}).get("wall_s_median")
        floor = rows.get("asyncio sockets (floor)", {}).get("wall_s_median")
        out.append(
            f"\n{conc['calls']} concurrent async calls, loopback server answering after "
            f"{conc['latency_s'] * 1000:.0f} ms (fresh client per burst)"
        )
        out.append(
            f"  {'contender':<28}{'wall s':>8}{'bursts':>8}{'x latency':>11}"
            f"{'/ openai':>10}{'/ floor':>9}{'KiB/call':>10}"
        )
        for name, row in rows.items():
            wall = row["wall_s_median"]
            mem = row.get("bytes_per_call")
            out.append(
                f"  {name:<28}{wall:>8.2f}{len(row['wall_s_all']):>8}{row['x_latency']:>10.1f}x"
                + (f"{wall / openai:>9.2f}x" if openai else f"{'':>10}")
                + (f"{wall / floor:>8.1f}x" if floor else f"{'':>9}")
                + (f"{mem / 1024:>10.1f}" if mem is not None else f"{'n/a':>10}")
            )
    tls = results.get("tls")
    if tls:
        out.append(
            f"\nConcurrent async calls over HTTPS ({tls['server']}), answering after "
            f"{tls['latency_s'] * 1000:.0f} ms; fresh client per burst. Ratios of medians; "
            "CPU is the client process's per call"
        )
        for n, burst in tls["bursts"].items():
            rows = burst["results"]
            fastest = burst["fastest_raw"]
            out.append(f"  {n} calls (fastest raw stack: {fastest})")
            out.append(
                f"    {'contender':<18}{'wall s':>8}{'bursts':>8}{'/ fastest':>11}"
                f"{'/ openai':>10}{'CPU us/call':>13}{'/ fastest':>11}{'/ openai':>10}"
            )
            for name, row in rows.items():
                vs_openai = row.get("wall_vs_openai")
                cpu_openai = row.get("cpu_vs_openai")
                out.append(
                    f"    {name:<18}{row['wall_s_median']:>8.2f}{len(row['wall_s_all']):>8}"
                    f"{row['wall_vs_fastest_raw']:>10.2f}x"
                    + (f"{vs_openai:>9.2f}x" if vs_openai is not None else f"{'':>10}")
                    + f"{row['cpu_us_per_call_median']:>13.0f}{row['cpu_vs_fastest_raw']:>10.2f}x"
                    + (f"{cpu_openai:>9.2f}x" if cpu_openai is not None else "")
                )
    agent = results.get("agent")
    if agent:
        out.append("\nAgent cost (offline fake, fixed scenario)")
        if "skipped" in agent:
            out.append(f"  skipped: {agent['skipped']}")
        else:
            out.append(
                f"  {agent['scenario']}: {agent['llm_calls']} LLM calls, "
                f"{agent['prompt_bytes_total']} prompt bytes "
                f"(largest request {agent['prompt_bytes_largest']}), "
                f"{agent['agent_s_per_run_median'] * 1000:.1f} ms per run on the fake"
            )
            seed = agent.get("seed_basic")
            if seed:
                out.append(
                    f"  {seed['scenario']}: {seed['llm_calls']} LLM calls, "
                    f"{seed['prompt_bytes_total']} prompt bytes {seed['prompt_bytes_per_call']}"
                )
    verdicts = results.get("goals", [])
    if verdicts:
        out.append("\nGoals")
        for g in verdicts:
            mark = "met" if g["met"] else "MISSED"
            out.append(f"  {g['goal']:<66}{g['ratio']:>8.3f}x  (<= {g['target']}x)  {mark}")
    return "\n".join(out)


# -- the chart --------------------------------------------------------------------------


def _legend(ax: Any) -> None:
    """A legend, or a note that this section was not run."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)


def chart(results: dict[str, Any], path: Path) -> None:
    """Four panels: overhead, import time, concurrency, goals (measured / target)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")

    def log_axis(axis: Any) -> None:
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(NullFormatter())

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    colors = {
        "mbxai": "#2b7bba",
        "openai": "#7a7a7a",
        "instructor": "#c77c2e",
        "raw httpx": "#9bc39b",
        "raw httpx2": "#c9dfc9",
        "pydantic_ai": "#a583c4",
        "import mbxai": "#9cc3e4",
    }

    ax = axes[0][0]
    overhead = results.get("overhead", {})
    groups = list(overhead)
    names: list[str] = []
    for data in overhead.values():
        names += [n for n in data["contenders"] if n not in names]
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        xs, ys = [], []
        for g, group in enumerate(groups):
            row = overhead[group]["contenders"].get(name)
            if row:
                xs.append(g + (i - (len(names) - 1) / 2) * width)
                ys.append(row["median_us"])
        ax.bar(xs, ys, width, label=name, color=colors.get(name))
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel("us per call (median)")
    ax.set_title("Per-call overhead, in-memory transport")
    _legend(ax)

    ax = axes[0][1]
    settings = results.get("import", {}).get("settings", {})
    labels = list(settings)
    modules: list[str] = []
    for rows in settings.values():
        modules += [m for m in rows if m not in modules]
    width = 0.8 / max(len(modules), 1)
    for i, module in enumerate(modules):
        xs, ys = [], []
        for s, setting in enumerate(labels):
            row = settings[setting].get(module)
            if row:
                xs.append(s + (i - (len(modules) - 1) / 2) * width)
                ys.append(row["median_s"] * 1000)
        ax.bar(xs, ys, width, label=module, color=colors.get(module))
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("ms (median, fresh interpreter)")
    ax.set_title("Cold import time of the clients")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.35)  # room for the legend above the bars
    _legend(ax)

    ax = axes[1][0]
    conc = results.get("concurrency", {})
    rows = conc.get("results", {})
    if rows:
        names = list(rows)
        walls = [rows[n]["wall_s_median"] for n in names]
        bar_colors = [
            colors["mbxai"]
            if n.startswith("mbxai")
            else colors.get(n, colors["raw httpx"] if "httpx" in n else "#bbbbbb")
            for n in names
        ]
        ax.barh(range(len(names)), walls, color=bar_colors)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        log_axis(ax.xaxis)
        for y, wall in enumerate(walls):
            ax.text(wall, y, f" {wall:.2f}s", va="center", fontsize=7)
        latency = conc["latency_s"]
        ax.axvline(latency, color="black", linestyle=":", label=f"one latency ({latency}s)")
        ax.axvline(latency * CONCURRENCY_GOAL, color="red", linestyle="--", label="goal")
        ax.set_xlabel("wall seconds for the burst (median, log scale)")
        ax.set_title(f"{conc['calls']} concurrent calls, loopback server, 100 ms latency")
    _legend(ax)

    ax = axes[1][1]
    verdicts = results.get("goals", [])
    if verdicts:
        scores = [g["ratio"] / g["target"] for g in verdicts]
        ax.barh(
            range(len(verdicts)),
            scores,
            color=["#3a9a4a" if g["met"] else "#d0453a" for g in verdicts],
        )
        ax.set_yticks(
            range(len(verdicts)),
            [g["goal"].replace(" concurrent calls", "") for g in verdicts],
            fontsize=7,
        )
        ax.invert_yaxis()
        ax.set_xscale("log")
        log_axis(ax.xaxis)
        for y, (g, score) in enumerate(zip(verdicts, scores, strict=True)):
            ax.text(score, y, f" {g['ratio']:.2f}x (goal {g['target']}x)", va="center", fontsize=7)
        ax.set_xlim(right=max(scores) * 4)
        ax.axvline(1.0, color="black")
        ax.set_xlabel("measured ratio / goal (left of the line: goal met)")
        ax.set_title("Goals")

    meta = results.get("meta", {})
    fig.suptitle(
        f"mbxai benchmarks - Python {meta.get('python', '?')}, {meta.get('cpu_count', '?')} CPUs"
        f"{' (quick run)' if meta.get('quick') else ''}; ratios are what to read",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
