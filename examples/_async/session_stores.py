"""The shipped session stores: files and SQL here (Redis works the same way).

A run that pauses for a human is resumed by a second agent that shares only the store.
Both stores write with compare-and-set on the record's version, so two workers resuming
one session at once cannot both win: the second gets SessionConflictError.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from _setup import banner, chat_client, decision, evaluation, outcome, plan, run, task
from pydantic import BaseModel

from mbxai import (
    AsyncAgentClient,
    AsyncFileSessionHandler,
    AsyncSQLSessionHandler,
    ConfigurationError,
    HumanInLoopResponse,
    HumanInteractionType,
)


class Verdict(BaseModel):
    approved: bool
    note: str


async def pause_and_resume(store: Any) -> None:
    """Agent 1 starts and waits for a human; agent 2 resumes from the same store."""
    first = AsyncAgentClient(
        chat_client(
            plan(
                "Approve the refund",
                task(
                    "t1",
                    "Refund order 1042",
                    human=decision("Refund 49 EUR for order 1042?", ["approve", "deny"]),
                ),
            )
        ),
        human_in_loop=True,
        session_handler=store,
    )
    waiting = await first.agent("Refund order 1042", Verdict)
    request = waiting.human_interaction_request
    if request is None:  # a real model may decide that nobody needs to be asked
        print(f"  the run ended without asking anyone: {waiting.state}")
        await first.aclose()
        return
    print(f"  agent 1 waits: {request.prompt}")
    await first.aclose()

    second = AsyncAgentClient(
        chat_client(
            outcome("Refunded 49 EUR."), evaluation(Verdict(approved=True, note="Refunded 49 EUR."))
        ),
        human_in_loop=True,
        session_handler=store,
    )
    done = await second.agent(
        "Continue",
        Verdict,
        agent_id=waiting.agent_id,
        human_response=HumanInLoopResponse(
            interaction_id=request.id,
            response_type=HumanInteractionType.DECISION,
            decision="approve" if "approve" in request.options else request.options[0],
        ),
    )
    print(f"  agent 2: {done.state} -> {done.final_response}")
    print(f"  stored sessions: {len(await second.list_sessions())}")
    await second.aclose()


async def main() -> None:
    banner("Session stores")
    with tempfile.TemporaryDirectory() as folder:
        print("FileSessionHandler (one JSON file per session, atomic writes, file locks):")
        await pause_and_resume(AsyncFileSessionHandler(Path(folder) / "sessions", ttl=86400))

        print("SQLSessionHandler (SQLite here; PostgreSQL with a postgresql:// URL):")
        try:
            store = AsyncSQLSessionHandler(f"sqlite:///{folder}/sessions.db", ttl=86400)
        except ConfigurationError as exc:  # the extra is not installed
            print(f"  skipped: {exc}")
        else:
            async with store:
                await pause_and_resume(store)


if __name__ == "__main__":
    run(main)
