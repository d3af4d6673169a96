"""Mistakes that must NOT type-check: each line below is an error for mypy and for pyright,
and its ignore comment says which one. `nox -s typing_api` fails when a line stops being
that error, since both checkers then report the comment as unused (mypy through
``warn_unused_ignores``, part of ``strict``; pyright through
``reportUnnecessaryTypeIgnoreComment``, set for this folder in pyproject.toml), and when
it becomes another error, since the comment then silences nothing.

``import mbxai`` resolves most names lazily through a module ``__getattr__``: were that
visible to type checkers, any typo would import as ``Any``. The first lines prove it is not.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

import mbxai
from mbxai import Nope  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
from mbxai.agent import AgentClinet  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
from mbxai.testing import FakeModle  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Hi"}]


class City(BaseModel):
    name: str


def misuse(client: mbxai.OpenRouterClient) -> None:
    print(Nope, AgentClinet, FakeModle)
    print(mbxai.OpenRouterClinet)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
    client.craete(MESSAGES)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
    client.parse(MESSAGES, "City")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
    print(client.create(MESSAGES, stream=True).content)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
    parsed: City = client.parse(MESSAGES, City).parsed  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    mbxai.ToolClient(client, tool_calling="sometimes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    mbxai.AsyncToolClient(client)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    print(parsed)


async def awaiting_a_sync_client(client: mbxai.OpenRouterClient) -> None:
    await client.create(MESSAGES)  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
