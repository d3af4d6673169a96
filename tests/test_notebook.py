"""examples/explore.ipynb runs top to bottom in a real kernel, offline, and renders.

Needs the ``docs`` extra (nbclient, ipykernel): `nox -s notebook` runs it; elsewhere it is
skipped. The notebook is committed without outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOK = EXAMPLES / "explore.ipynb"


def test_the_notebook_is_committed_without_outputs() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], cell["source"]
            assert cell["execution_count"] is None, cell["source"]


@pytest.fixture(scope="module")
def executed() -> Any:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:  # the kernel inherits the environment
        patch.delenv("OPENROUTER_API_KEY", raising=False)
        patch.delenv("OPENAI_API_KEY", raising=False)
        nbclient.NotebookClient(
            notebook,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(EXAMPLES)}},
        ).execute()
    return notebook


def outputs(notebook: Any, kind: str) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if kind == "stream" and output.output_type == "stream":
                found.append(output.text)
            elif kind in output.get("data", {}):
                found.append(output.data[kind])
    return found


def test_every_cell_runs_offline(executed: Any) -> None:
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    assert "talking to the offline fake model\n" in outputs(executed, "stream")


def test_sync_and_async_clients_both_answer_inside_the_kernel(executed: Any) -> None:
    markdown = outputs(executed, "text/markdown")
    assert "Paris is the capital of France." in markdown  # the sync client
    assert "This is a fake reply to: Say hello in French." in markdown  # top-level await
    plain = "\n".join(outputs(executed, "text/plain"))
    assert "CityInfo(name='Paris', population=2102650, country='France')" in plain
    assert "'This is a fake reply to: Count to five.'" in plain  # async streaming


def test_agent_responses_render_as_html_tables(executed: Any) -> None:
    html = outputs(executed, "text/html")
    assert len(html) == 3  # waiting, completed, and the async agent's run
    waiting, completed, named = html
    assert "state <b>waiting_for_human</b>" in waiting
    assert "<table" in waiting
    assert "Pick the launch date" in waiting
    assert "Launch on May 5 or May 12?" in waiting  # the pending request
    assert "state <b>completed</b>" in completed
    assert "Goal achievement: 100%" in completed
    assert "LLM calls" in completed
    assert "Brainstorm names" in named
