"""A custom session handler: any object with the five methods of the seed's protocol.

This one keeps every session in one JSON file with a time to live, in the style of the
seed's RedisSessionHandler (swap the file for Redis, a database or a bucket). A run
started by one agent is resumed by another that shares only the store: in real life,
another process or machine.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _setup import banner, chat_client, decision, evaluation, outcome, plan, run, task
from pydantic import BaseModel

from mbxai import AsyncAgentClient, HumanInLoopResponse, HumanInteractionType


class JsonFileSessionHandler:
    """Sessions in one JSON file: ``{agent_id: {"expires": epoch, "data": session}}``.

    Plain (sync) methods; an async agent calls them in worker threads. A lock keeps this
    process's writes apart; across processes use mbxai's FileSessionHandler, which locks
    the files and writes atomically.
    """

    def __init__(self, path: Path, ttl_seconds: int = 86400) -> None:
        self.path = path
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        now = time.time()
        entries = json.loads(self.path.read_text())
        return {key: entry for key, entry in entries.items() if entry["expires"] > now}

    def _write(self, entries: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(entries))

    def get_session(self, agent_id: str) -> dict[str, Any] | None:
        entry = self._read().get(agent_id)
        return entry["data"] if entry else None

    def set_session(self, agent_id: str, session_data: dict[str, Any]) -> None:
        with self._lock:
            entries = self._read()
            entries[agent_id] = {"expires": time.time() + self.ttl_seconds, "data": session_data}
            self._write(entries)

    def delete_session(self, agent_id: str) -> bool:
        with self._lock:
            entries = self._read()
            found = entries.pop(agent_id, None) is not None
            self._write(entries)
            return found

    def list_sessions(self) -> list[str]:
        return list(self._read())

    def session_exists(self, agent_id: str) -> bool:
        return agent_id in self._read()


class Decision(BaseModel):
    action: str
    reason: str


async def main() -> None:
    banner("Custom session handler")
    with tempfile.TemporaryDirectory() as folder:
        store = JsonFileSessionHandler(Path(folder) / "sessions.json", ttl_seconds=3600)

        # The first agent plans, then pauses for a human decision.
        first = AsyncAgentClient(
            chat_client(
                plan(
                    "Decide whether to archive the old reports",
                    task(
                        "t1",
                        "Archive old reports",
                        human=decision(
                            "Archive 1,204 reports older than 2 years?", ["archive", "keep"]
                        ),
                    ),
                )
            ),
            human_in_loop=True,
            session_handler=store,
        )
        response = await first.agent("Clean up the old reports", Decision)
        await first.aclose()
        request = response.human_interaction_request
        if request is None:  # a real model may decide that nobody needs to be asked
            print(f"the run ended without asking anyone: {response.state}")
            return
        print(f"agent 1 waits: {request.prompt} {request.options}")
        print(f"stored sessions: {store.list_sessions()}")

        # A second agent (another process, say) resumes the run from the store.
        second = AsyncAgentClient(
            chat_client(
                outcome("Archived 1,204 reports to cold storage."),
                evaluation(Decision(action="archived", reason="The user approved archiving.")),
            ),
            human_in_loop=True,
            session_handler=store,
        )
        choice = "archive" if "archive" in request.options else request.options[0]
        done = await second.agent(
            "Continue",
            Decision,
            agent_id=response.agent_id,
            human_response=HumanInLoopResponse(
                interaction_id=request.id,
                response_type=HumanInteractionType.DECISION,
                decision=choice,
            ),
        )
        print(f"agent 2: {done.state}, {done.final_response}")
        info = await second.get_session_info(done.agent_id)
        assert info is not None
        print(f"record version {info['version']}, tasks {info['tasks']['completed']} completed")
        await second.aclose()


if __name__ == "__main__":
    run(main)
