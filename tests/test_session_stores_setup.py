"""How the session stores fit in: optional dependencies, and the stores under trio.

* ``import mbxai`` imports neither redis nor SQLAlchemy (they are extras).
* redis.asyncio and SQLAlchemy's asyncio extension need asyncio. On trio the async
  handlers say so clearly, and an async agent uses the sync handlers instead (it calls a
  sync handler's methods in worker threads).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import (
    AsyncAgentClient,
    AsyncOpenRouterClient,
    AsyncRedisSessionHandler,
    AsyncSQLSessionHandler,
    ConfigurationError,
    HumanInLoopResponse,
    HumanInteractionType,
    RedisSessionHandler,
    SQLSessionHandler,
)
from mbxai.testing import FakeModel, Reply

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


def test_import_mbxai_imports_no_optional_store_library() -> None:
    code = (
        "import sys, mbxai, mbxai.agent\n"
        "from mbxai import AsyncRedisSessionHandler, SQLSessionHandler, FileSessionHandler\n"
        "found = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'redis', 'sqlalchemy', 'aiosqlite', 'psycopg', 'asyncpg'})\n"
        "print(','.join(found))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
    # and the libraries are there, so the check above could have found them
    probe = "import redis, sqlalchemy, aiosqlite, psycopg"
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)


@pytest.mark.parametrize(
    ("module", "store", "extra"),
    [
        ("redis", "RedisSessionHandler", "redis"),
        ("redis", "AsyncRedisSessionHandler", "redis"),
        ("sqlalchemy", "SQLSessionHandler", "sql"),
        ("sqlalchemy", "AsyncSQLSessionHandler", "sql"),
    ],
)
def test_a_missing_extra_is_named(module: str, store: str, extra: str) -> None:
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"  # as if it were not installed
        "import mbxai\n"
        "try:\n"
        f"    mbxai.{store}('sqlite:///x.db' if 'SQL' in {store!r} else None)\n"
        "except mbxai.ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert f"pip install 'mbxai[{extra}]'" in result.stdout
    assert store in result.stdout


class Plan(BaseModel):
    name: str


def script() -> list[Reply]:
    task = {
        "id": "t1",
        "title": "deploy",
        "description": "deploy it",
        "dependencies": [],
        "tools": [],
        "estimated_complexity": 1,
        "human_interaction": {
            "type": "decision",
            "prompt": "Deploy?",
            "options": ["proceed"],
            "dialog_option_id": None,
        },
    }
    plan = {
        "requirement_analysis": {
            "goal": "deploy",
            "success_criteria": [],
            "constraints": [],
            "complexity_estimate": 1,
        },
        "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
        "tasks": [task],
    }
    evaluation = {
        "goal_evaluation": {
            "goal_achieved": True,
            "completion_percentage": 100,
            "feedback": "",
            "missing_elements": [],
        },
        "final_response": {"name": "shop"},
        "follow_up_tasks": [],
    }
    outcome = {"status": "completed", "result": "deployed", "question": None}
    return [Reply(content=json.dumps(x)) for x in (plan, outcome, evaluation)]


async def test_async_redis_and_sql_handlers_name_the_sync_twin_on_trio(
    redis_url: str, tmp_path: Path
) -> None:
    redis_store = AsyncRedisSessionHandler(redis_url)
    sql_store = AsyncSQLSessionHandler(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(ConfigurationError, match=r"asyncio only.*sync twin"):
        await redis_store.get_session("a")
    with pytest.raises(ConfigurationError, match="AsyncRedisSessionHandler"):
        await redis_store.list_sessions()
    with pytest.raises(ConfigurationError, match="AsyncSQLSessionHandler runs on asyncio only"):
        await sql_store.set_session("a", {"version": 1})


@pytest.mark.parametrize("kind", ["redis", "sql-sqlite", "sql-postgres"])
async def test_an_async_agent_on_trio_pauses_and_resumes_with_a_sync_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    name = f"trio{uuid.uuid4().hex[:8]}"

    def make() -> Any:
        if kind == "redis":
            return RedisSessionHandler(request.getfixturevalue("redis_url"), prefix=name + ":")
        url = (
            request.getfixturevalue("postgres_url")
            if kind == "sql-postgres"
            else f"sqlite:///{tmp_path / 's.db'}"
        )
        return SQLSessionHandler(url, table=name)

    fake = FakeModel(script(), strict_script=True)
    stores = [make(), make()]

    def agent(store: Any) -> AsyncAgentClient:
        client = AsyncOpenRouterClient(token="test-token", transport=fake)
        return AsyncAgentClient(client, human_in_loop=True, session_handler=store)

    paused = await agent(stores[0]).agent("Deploy", Plan)
    request_ = paused.human_interaction_request
    assert request_ is not None
    answer = HumanInLoopResponse(
        interaction_id=request_.id, response_type=HumanInteractionType.DECISION, decision="proceed"
    )
    done = await agent(stores[1]).agent(
        "Continue", Plan, agent_id=paused.agent_id, human_response=answer
    )
    assert done.is_complete()
    assert done.final_response == Plan(name="shop")
    assert len(fake.requests) == 3
    assert stores[0].list_sessions() == [paused.agent_id]
    for store in stores:
        store.close()
