# This file is generated from tests/_async/test_session_stores.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""One conformance suite for every shipped session store: memory, files, Redis and SQL.

Redis and PostgreSQL are real servers started by the tests (tests/fix_db.py). Written
once (async), generated for sync.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy
from pydantic import BaseModel
from sqlalchemy import create_engine

from mbxai import (
    AgentClient,
    ConfigurationError,
    FileSessionHandler,
    HumanInLoopResponse,
    HumanInteractionType,
    InMemorySessionHandler,
    OpenRouterClient,
    RedisSessionHandler,
    SessionConflictError,
    SessionCorruptError,
    SQLSessionHandler,
)
from mbxai._concurrency import gather, sleep
from mbxai.testing import FakeModel, FakeRequest, Reply
from tests.support.event_loops import on_trio

KINDS = ["memory", "file", "redis", "sql-sqlite", "sql-postgres"]
ASYNCIO_ONLY = {"redis", "sql-sqlite", "sql-postgres"}


class MemoryStore:
    """The shared in-memory handler behind the protocol the agent sees.

    Handlers made for one test share one record table, as the other stores share a
    directory, a database or a key prefix.
    """

    def __init__(self, shared: InMemorySessionHandler, ttl: float | None = None) -> None:
        self.inner = InMemorySessionHandler(ttl=ttl)
        self.inner._data = shared._data
        self.inner._lock = shared._lock

    def get_session(self, agent_id: str) -> dict[str, Any] | None:
        return self.inner.get_session(agent_id)

    def set_session(
        self, agent_id: str, session_data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        self.inner.set_session(agent_id, session_data, expected_version=expected_version)

    def delete_session(self, agent_id: str) -> bool:
        return self.inner.delete_session(agent_id)

    def list_sessions(self) -> list[str]:
        return self.inner.list_sessions()

    def session_exists(self, agent_id: str) -> bool:
        return self.inner.session_exists(agent_id)

    def purge_expired(self) -> int:
        return self.inner.purge_expired()


@pytest.fixture(params=KINDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Makes handlers (``make_store(ttl=...)``) that all reach the same store of one kind."""
    kind = request.param
    if kind in ASYNCIO_ONLY and on_trio():
        pytest.skip(
            "redis and SQLAlchemy's asyncio extension run on asyncio only; on trio "
            "the sync handlers serve async agents (tests/test_session_stores_setup.py)"
        )
    name = f"t{uuid.uuid4().hex[:12]}"
    shared = InMemorySessionHandler()
    url = ""
    if kind == "redis":
        url = request.getfixturevalue("redis_url")
    elif kind == "sql-postgres":
        url = request.getfixturevalue("postgres_url")
    elif kind == "sql-sqlite":
        (tmp_path / "db").mkdir()
        url = f"sqlite:///{tmp_path / 'db' / 'sessions.db'}"
    made: list[Any] = []

    def make(ttl: float | None = None) -> Any:
        store: Any
        if kind == "memory":
            store = MemoryStore(shared, ttl=ttl)
        elif kind == "file":
            store = FileSessionHandler(tmp_path / "store", ttl=ttl)
        elif kind == "redis":
            store = RedisSessionHandler(url, prefix=f"{name}:", ttl=ttl)
        else:
            store = SQLSessionHandler(url, table=name, ttl=ttl)
        made.append(store)
        return store

    yield make
    for store in made:
        close = getattr(store, "close", None)
        if close is not None:
            close()


def record(version: int, **fields: Any) -> dict[str, Any]:
    return {"version": version, **fields}


def files_under(path: Path) -> list[Path]:
    return sorted(path.rglob("*"))


def test_round_trip_keeps_the_record_exactly(make_store: Callable[..., Any]) -> None:
    store = make_store()
    data = record(1, agent_id="a1", nested={"list": [1, "ü", None, True, 1.5], "empty": {}})
    assert store.get_session("a1") is None
    store.set_session("a1", data)
    assert store.get_session("a1") == data
    # what comes back is a copy: changing it changes nothing stored
    got = store.get_session("a1")
    got["nested"]["list"].append("changed")
    assert store.get_session("a1") == data
    # a handler made afresh (another process, say) reads the same record
    assert make_store().get_session("a1") == data


def test_list_exists_and_delete(make_store: Callable[..., Any]) -> None:
    store = make_store()
    assert store.list_sessions() == []
    store.set_session("b", record(1))
    store.set_session("a", record(1))
    assert sorted(store.list_sessions()) == ["a", "b"]
    assert store.session_exists("a")
    assert not store.session_exists("c")
    assert store.delete_session("a") is True
    assert store.delete_session("a") is False
    assert not store.session_exists("a")
    assert store.get_session("a") is None
    assert store.list_sessions() == ["b"]


def test_writes_without_a_version_overwrite(make_store: Callable[..., Any]) -> None:
    store = make_store()
    store.set_session("s", record(1, text="first"))
    store.set_session("s", record(1, text="second"))  # the seed's protocol: last wins
    assert store.get_session("s") == record(1, text="second")


def test_creating_twice_conflicts(make_store: Callable[..., Any]) -> None:
    first, second = make_store(), make_store()
    first.set_session("s", record(1, by="first"), expected_version=0)
    with pytest.raises(SessionConflictError) as info:
        second.set_session("s", record(1, by="second"), expected_version=0)
    assert info.value.expected_version == 0
    assert info.value.actual_version == 1
    assert info.value.agent_id == "s"
    assert second.get_session("s") == record(1, by="first")


def test_a_stale_update_conflicts_and_changes_nothing(
    make_store: Callable[..., Any],
) -> None:
    store = make_store()
    store.set_session("s", record(1, step="created"), expected_version=0)
    store.set_session("s", record(2, step="updated"), expected_version=1)
    with pytest.raises(SessionConflictError) as info:
        store.set_session("s", record(2, step="stale"), expected_version=1)
    assert (info.value.expected_version, info.value.actual_version) == (1, 2)
    with pytest.raises(SessionConflictError) as info:
        store.set_session("missing", record(5), expected_version=4)
    assert info.value.actual_version == 0
    assert store.get_session("s") == record(2, step="updated")
    assert not store.session_exists("missing")


def test_records_expire_after_their_ttl(make_store: Callable[..., Any]) -> None:
    lasting, brief, plain = make_store(ttl=3600), make_store(ttl=0.2), make_store()
    lasting.set_session("lasting", record(1))
    brief.set_session("brief", record(1))
    brief.set_session("brief-2", record(1))
    sleep(0.6)  # well past the 0.2 s ttl
    for reader in (lasting, brief, plain):
        assert reader.get_session("brief") is None
        assert not reader.session_exists("brief")
        assert reader.get_session("lasting") == record(1)
        assert reader.list_sessions() == ["lasting"]
    # an expired record counts as absent: updating it conflicts, creating it works
    with pytest.raises(SessionConflictError) as info:
        plain.set_session("brief-2", record(2), expected_version=1)
    assert info.value.actual_version == 0
    plain.set_session("brief", record(1, again=True), expected_version=0)
    assert plain.get_session("brief") == record(1, again=True)
    assert plain.delete_session("brief-2") is False


def test_expired_records_can_be_purged(make_store: Callable[..., Any], tmp_path: Path) -> None:
    brief, plain = make_store(ttl=0.2), make_store()
    if not hasattr(plain, "purge_expired"):
        pytest.skip("Redis deletes expired keys itself")
    brief.set_session("x", record(1))
    brief.set_session("y", record(1))
    plain.set_session("kept", record(1))
    sleep(0.6)
    assert plain.purge_expired() == 2
    assert plain.purge_expired() == 0
    assert plain.list_sessions() == ["kept"]
    if (tmp_path / "store").exists():
        assert sorted(p.name for p in (tmp_path / "store").glob("*.json")) == ["kept.json"]


def test_concurrent_writers_exactly_one_wins_each_version(
    make_store: Callable[..., Any],
) -> None:
    stores = [make_store(), make_store()]
    stores[0].set_session("s", record(1, writer=None), expected_version=0)
    writers = 8

    def write(i: int) -> int | None:
        """None if this writer won, else the version its conflict reported."""
        try:
            stores[i % 2].set_session("s", record(2, writer=i), expected_version=1)
        except SessionConflictError as exc:
            return exc.actual_version
        return None

    results = gather([functools.partial(write, i) for i in range(writers)])
    assert results.count(None) == 1
    assert results.count(2) == writers - 1
    stored = stores[1].get_session("s")
    assert stored == record(2, writer=results.index(None))


def test_a_counter_with_retry_on_conflict_loses_no_update(
    make_store: Callable[..., Any],
) -> None:
    stores = [make_store(), make_store()]
    workers = 10

    def increment(i: int) -> None:
        store = stores[i % 2]
        while True:
            current = store.get_session("counter")
            version = current["version"] if current else 0
            count = current["count"] if current else 0
            try:
                store.set_session(
                    "counter", record(version + 1, count=count + 1), expected_version=version
                )
                return
            except SessionConflictError:
                continue  # someone else incremented first: read again

    gather([functools.partial(increment, i) for i in range(workers)])
    assert stores[0].get_session("counter") == record(workers, count=workers)


def test_large_records(make_store: Callable[..., Any]) -> None:
    store = make_store()
    big = record(1, blob="x" * 1_000_000, items=[{"i": i, "text": "ü" * 20} for i in range(5000)])
    assert len(json.dumps(big)) > 1_000_000
    store.set_session("big", big, expected_version=0)
    assert store.get_session("big") == big
    bigger = {**big, "version": 2, "blob": "y" * 1_500_000}
    store.set_session("big", bigger, expected_version=1)
    assert make_store().get_session("big") == bigger
    with pytest.raises(SessionConflictError):
        store.set_session("big", big, expected_version=1)


UNSAFE_IDS = [
    "../escape",
    "../../etc/passwd",
    "/absolute",
    "a/b",
    "a%2Fb",
    "a%2fb",
    "..",
    ".",
    ".hidden",
    "back\\slash",
    "C:drive",
    "Agent-Case",
    "agent-case",
    "ünïcødé 空白 ✓",
    "new\nline\ttab",
    "*?[glob]",
    "con",
    "a.json",
    "~tilde",
    "x" * 255,
    "空" * 255,
]
REJECTED_IDS: list[Any] = ["", "nul\x00byte", "y" * 256, "\ud800", 42, None]


def test_unsafe_agent_ids_are_kept_safely(make_store: Callable[..., Any], tmp_path: Path) -> None:
    store = make_store()
    for i, agent_id in enumerate(UNSAFE_IDS):
        store.set_session(agent_id, record(1, i=i), expected_version=0)
    assert sorted(store.list_sessions()) == sorted(UNSAFE_IDS)
    for i, agent_id in enumerate(UNSAFE_IDS):
        assert store.get_session(agent_id) == record(1, i=i)
        assert store.session_exists(agent_id)
    # nothing was written outside the store's own directory
    assert not (tmp_path / "escape.json").exists()
    assert not (tmp_path.parent / "escape.json").exists()
    for path in files_under(tmp_path):
        parts = path.relative_to(tmp_path).parts
        assert parts[0] in ("store", "db"), path
        assert len(parts) <= 2, path
    for agent_id in UNSAFE_IDS:
        assert store.delete_session(agent_id) is True
    assert store.list_sessions() == []


def test_ids_no_store_can_keep_are_refused(make_store: Callable[..., Any]) -> None:
    store = make_store()
    for agent_id in REJECTED_IDS:
        with pytest.raises(ConfigurationError, match="agent_id"):
            store.set_session(agent_id, record(1))
        with pytest.raises(ConfigurationError, match="agent_id"):
            store.get_session(agent_id)
        with pytest.raises(ConfigurationError, match="agent_id"):
            store.session_exists(agent_id)
        with pytest.raises(ConfigurationError, match="agent_id"):
            store.delete_session(agent_id)
    assert store.list_sessions() == []


def test_bad_records_and_versions_are_refused(make_store: Callable[..., Any]) -> None:
    store = make_store()
    with pytest.raises(ConfigurationError, match="version"):
        store.set_session("s", {"version": "1"})
    with pytest.raises(ConfigurationError, match="expected_version"):
        store.set_session("s", record(1), expected_version=-1)
    with pytest.raises(TypeError):
        store.set_session("s", record(1, thing=object()))
    assert store.list_sessions() == []


# -- the agent on each store --------------------------------------------------------------


class Plan(BaseModel):
    name: str
    steps: list[str]


def plan_reply() -> Reply:
    human = {"type": "decision", "prompt": "Deploy?", "options": ["proceed", "wait"]}
    task = {
        "id": "t1",
        "title": "deploy",
        "description": "deploy it",
        "dependencies": [],
        "tools": [],
        "estimated_complexity": 2,
        "human_interaction": {**human, "dialog_option_id": None},
    }
    analysis = {"goal": "deploy", "success_criteria": [], "constraints": []}
    tools = {"relevant_tools": [], "missing_capabilities": []}
    return Reply(
        content=json.dumps(
            {
                "requirement_analysis": {**analysis, "complexity_estimate": 2},
                "tool_analysis": tools,
                "tasks": [task],
            }
        )
    )


def outcome_reply() -> Reply:
    return Reply(content=json.dumps({"status": "completed", "result": "done", "question": None}))


def evaluation_reply() -> Reply:
    evaluation = {
        "goal_achieved": True,
        "completion_percentage": 100,
        "feedback": "ok",
        "missing_elements": [],
    }
    final = {"name": "shop", "steps": ["deploy"]}
    return Reply(
        content=json.dumps(
            {"goal_evaluation": evaluation, "final_response": final, "follow_up_tasks": []}
        )
    )


def new_agent(fake: FakeModel, store: Any) -> AgentClient:
    client = OpenRouterClient(token="test-token", transport=fake, retry_initial_delay=0)
    return AgentClient(client, human_in_loop=True, session_handler=store)


def test_an_agent_pauses_and_a_new_agent_resumes_from_the_store(
    make_store: Callable[..., Any],
) -> None:
    fake = FakeModel([plan_reply(), outcome_reply(), evaluation_reply()], strict_script=True)
    first = new_agent(fake, make_store())
    paused = first.agent("Deploy the shop", Plan)
    assert paused.is_waiting_for_human()
    request = paused.human_interaction_request
    assert request is not None
    first.close()

    # a new client, a new agent and a new handler: only the store itself is shared
    second = new_agent(fake, make_store())
    answer = HumanInLoopResponse(
        interaction_id=request.id, response_type=HumanInteractionType.DECISION, decision="proceed"
    )
    done = second.agent("Continue", Plan, agent_id=paused.agent_id, human_response=answer)
    assert done.is_complete()
    assert done.final_response == Plan(name="shop", steps=["deploy"])
    assert len(fake.requests) == 3  # planning once, the task once, the evaluation once
    assert second.list_sessions() == [paused.agent_id]
    info = second.get_session_info(paused.agent_id)
    assert info is not None
    assert info["state"] == "completed"
    stored = make_store().get_session(paused.agent_id)
    assert stored is not None
    assert stored["version"] == info["version"] > 1
    assert second.delete_session(paused.agent_id) is True
    second.close()


# -- store-specific behaviour ------------------------------------------------------------


class SeedRedisSessionHandler:
    """The seed README's example handler, verbatim: sync redis-py, no expected_version."""

    def __init__(self, redis_client: redis.Redis | None = None, ttl_seconds: int = 86400):
        self.redis_client = redis_client or redis.Redis()
        self.ttl_seconds = ttl_seconds

    def get_session(self, agent_id: str) -> dict[str, Any] | None:
        session_json = self.redis_client.get(f"agent:{agent_id}")
        return json.loads(session_json) if session_json else None

    def set_session(self, agent_id: str, session_data: dict[str, Any]) -> None:
        session_json = json.dumps(session_data, default=str)
        self.redis_client.setex(f"agent:{agent_id}", self.ttl_seconds, session_json)

    def delete_session(self, agent_id: str) -> bool:
        return self.redis_client.delete(f"agent:{agent_id}") > 0

    def list_sessions(self) -> list[str]:
        keys = self.redis_client.keys("agent:*")
        return [key.decode().replace("agent:", "") for key in keys]

    def session_exists(self, agent_id: str) -> bool:
        return self.redis_client.exists(f"agent:{agent_id}") > 0


# redis-py 8 deprecates the seed's ``setex``; the seed's code is kept as it was written.
@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")
def test_the_seeds_own_redis_handler_still_works(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    store = SeedRedisSessionHandler(client, ttl_seconds=3600)
    paused_id: list[str] = []

    def another_worker_writes_first(request: FakeRequest) -> Reply:
        data = store.get_session(paused_id[0])
        assert data is not None
        store.set_session(paused_id[0], {**data, "version": data["version"] + 1})
        return outcome_reply()

    script = [plan_reply(), another_worker_writes_first, outcome_reply(), evaluation_reply()]
    fake = FakeModel(script, strict_script=True)
    paused = new_agent(fake, store).agent("Deploy the shop", Plan)
    paused_id.append(paused.agent_id)
    request = paused.human_interaction_request
    assert request is not None
    assert store.session_exists(paused.agent_id)

    # the agent checks the version before it writes, so the other write is not lost
    answer = HumanInLoopResponse(
        interaction_id=request.id, response_type=HumanInteractionType.DECISION, decision="proceed"
    )
    with pytest.raises(SessionConflictError):
        new_agent(fake, store).agent(
            "Continue", Plan, agent_id=paused.agent_id, human_response=answer
        )
    resumed = new_agent(fake, SeedRedisSessionHandler(client, ttl_seconds=3600)).agent(
        "Continue", Plan, agent_id=paused.agent_id
    )
    assert resumed.is_complete()
    assert len(fake.requests) == 4
    assert store.list_sessions() == [paused.agent_id]
    assert 0 < client.ttl(f"agent:{paused.agent_id}") <= 3600
    client.close()


def test_redis_store_takes_a_ready_client_and_leaves_it_open(redis_url: str) -> None:
    if on_trio():
        pytest.skip("redis runs on asyncio only")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"ready{uuid.uuid4().hex[:8]}:"
    store = RedisSessionHandler(client=client, prefix=prefix, ttl=60)
    assert store.client is client
    store.set_session("a", record(1), expected_version=0)
    assert store.get_session("a") == record(1)
    assert store.list_sessions() == ["a"]
    assert client.hget(prefix + "a", "version") == "1"
    assert 0 < client.pttl(prefix + "a") <= 60_000
    store.close()
    assert client.ping()  # not the handler's to close
    client.close()
    with pytest.raises(ConfigurationError, match="not both"):
        RedisSessionHandler(redis_url, client=client)


def test_sql_store_takes_a_ready_engine_and_makes_its_table_once(tmp_path: Path) -> None:
    if on_trio():
        pytest.skip("SQLAlchemy's asyncio extension runs on asyncio only")
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 's.db'}")
    first = SQLSessionHandler(engine=engine, table="sessions")
    second = SQLSessionHandler(engine=engine, table="sessions")
    first.set_session("a", record(1), expected_version=0)
    assert second.get_session("a") == record(1)
    assert second.list_sessions() == ["a"]
    first.close()  # not the handler's engine: it stays usable
    with engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT id, version FROM sessions"))
        assert [tuple(row) for row in rows] == [("a", 1)]
        conn.execute(sqlalchemy.text("UPDATE sessions SET data = 'not json'"))
        conn.commit()
    with pytest.raises(SessionCorruptError, match="'a'"):
        second.get_session("a")
    engine.dispose()


def test_store_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        SQLSessionHandler()
    with pytest.raises(ConfigurationError, match="table"):
        SQLSessionHandler("sqlite:///x.db", table="x; DROP TABLE y")
    with pytest.raises(ConfigurationError, match="ttl"):
        FileSessionHandler(tmp_path, ttl=-1)
    with pytest.raises(ConfigurationError, match="ttl"):
        RedisSessionHandler(ttl=0)
    with pytest.raises(ConfigurationError, match="directory"):
        FileSessionHandler(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="client must be"):
        RedisSessionHandler(client=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="engine must be"):
        SQLSessionHandler(engine=object())  # type: ignore[arg-type]
    assert "secret" not in repr(SQLSessionHandler("postgresql://u:secret@db/x"))


def test_a_damaged_session_file_is_reported_not_hidden(tmp_path: Path) -> None:
    store = FileSessionHandler(tmp_path, fsync=False)
    store.set_session("good", record(1))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SessionCorruptError, match="bad"):
        store.get_session("bad")
    assert store.list_sessions() == ["bad", "good"]
    assert not [p for p in files_under(tmp_path) if p.suffix == ".tmp"]  # none left behind
