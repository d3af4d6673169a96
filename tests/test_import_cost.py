"""What importing the clients loads: only what their first call needs.

Import *time* is measured in benchmarks/bench_import.py; here, in a fresh interpreter, the
modules that the clients' import must leave unloaded (they load at first use instead).
"""

from __future__ import annotations

import json
import subprocess
import sys

DEFERRED = ("httpx._main", "httpcore", "h2", "anyio", "docstring_parser", "trio", "click")


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def test_importing_the_clients_leaves_what_only_calls_need_unloaded() -> None:
    out = _fresh(
        "import json, sys\n"
        "from mbxai import AsyncOpenRouterClient, OpenRouterClient\n"
        f"print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))\n"
    )
    assert json.loads(out) == []


def test_a_client_call_path_loads_the_deferred_transport() -> None:
    out = _fresh(
        "import sys\n"
        "from mbxai import OpenRouterClient\n"
        "OpenRouterClient(token='sk-test', http_backend='httpx').close()\n"
        "print('httpcore' in sys.modules)\n"
    )
    assert out.strip() == "True"


def test_httpx_main_still_runs_the_command_line_client() -> None:
    out = _fresh(
        "import sys\n"
        "from mbxai import OpenRouterClient\n"
        "import httpx\n"
        "try:\n"
        "    import httpx._main as cli\n"
        "except ImportError:\n"  # httpx[cli]'s packages absent: httpx's own fallback then
        "    print('no-cli')\n"
        "    raise SystemExit\n"
        "from mbxai._lazy import _httpx_main\n"
        "print(httpx.main is _httpx_main, cli.main is not httpx.main)\n"
    )
    assert out.strip() in ("no-cli", "True True")
