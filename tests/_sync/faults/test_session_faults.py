# This file is generated from tests/_async/faults/test_session_faults.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Session faults: real stores (files, Redis, SQLite, PostgreSQL) failing under a running agent.

Invariants checked in every row: no session is lost (it resumes to completion), and no
tool side effect happens twice. Redis and PostgreSQL are real servers on loopback
(tests/fix_db.py). redis and SQLAlchemy's asyncio extension run on asyncio only,
so on trio the agent uses the sync handlers (in worker threads), as the store
documentation says. Written once (async), generated for sync.

The crash row (SIGKILL mid-run, then resume in a new process) belongs to the session
stores' own suite; the matrix references it.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from mbxai import (
    AgentClient,
    AgentState,
    BadRequestError,
    FileSessionHandler,
    HumanInLoopResponse,
    HumanInteractionType,
    MBXAIError,
    OpenRouterClient,
    RedisSessionHandler,
    SessionConflictError,
    SessionCorruptError,
    SQLSessionHandler,
    ToolClient,
)
from mbxai._concurrency import Event, gather
from mbxai.testing import Failure, FakeModel
from tests.faults_matrix import row
from tests.fix_db import RestartableRedis
from tests.support.agent_replies import AgentModel, Summary, decision
from tests.support.event_loops import on_trio

KINDS = ["file", "redis", "sql-sqlite", "sql-postgres"]


def resolve(value: Any) -> Any:
    """Await ``value`` if it is awaitable (an async handler's result), else return it."""
    if inspect.isawaitable(value):
        return value
    return value


def redis_store(url: str, prefix: str) -> Any:
    if on_trio():  # redis needs asyncio: the async agent runs the sync handler
        return RedisSessionHandler(url, prefix=prefix)
    return RedisSessionHandler(url, prefix=prefix)


def sql_store(url: str, table: str) -> Any:
    if on_trio():  # SQLAlchemy's asyncio extension needs asyncio, as above
        return SQLSessionHandler(url, table=table)
    return SQLSessionHandler(url, table=table)


def close(store: Any) -> None:
    closer = getattr(store, "close", None) or getattr(store, "close", None)
    if closer is not None:
        resolve(closer())


@pytest.fixture(params=KINDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Makes handlers (one per worker) that all reach the same store of one kind."""
    kind = request.param
    name = f"f{uuid.uuid4().hex[:12]}"
    url = ""
    if kind == "redis":
        url = request.getfixturevalue("redis_url")
    elif kind == "sql-postgres":
        url = request.getfixturevalue("postgres_url")
    elif kind == "sql-sqlite":
        url = f"sqlite:///{tmp_path / 'sessions.db'}"
    made: list[Any] = []

    def make() -> Any:
        if kind == "file":
            store = FileSessionHandler(tmp_path / "store", fsync=False)
        elif kind == "redis":
            store = redis_store(url, f"{name}:")
        else:
            store = sql_store(url, name)
        made.append(store)
        return store

    make.kind = kind  # type: ignore[attr-defined]
    yield make
    for store in made:
        close(store)


class Effects:
    """The side effects of the agent's tool, in order (a card charged per call)."""

    def __init__(self) -> None:
        self.charges: list[int] = []

    def charge_card(self, amount: int) -> str:
        """Charge the customer's card."""
        self.charges.append(amount)
        return f"receipt-{amount}"


def make_agent(model: FakeModel, store: Any, effects: Effects, **kwargs: Any) -> AgentClient:
    client = OpenRouterClient(token="test-token", transport=model, max_retries=0)
    agent = AgentClient(ToolClient(client), session_handler=store, **kwargs)
    agent.register_tool("charge_card", "Charge the customer's card", effects.charge_card)
    return agent


def finish(agent: AgentClient, agent_id: str) -> None:
    """Resume a session and check it completes: the session was not lost."""
    response = agent.agent("Continue", Summary, agent_id=agent_id)
    assert response.state == AgentState.COMPLETED, response.error
    assert response.final_response == Summary(summary="all done")


# -- Redis restarted mid-run ---------------------------------------------------------------


def run_across_a_restart(
    redis: RestartableRedis, *, down_at_save: bool
) -> tuple[BaseException | None, Effects, Any, AgentModel]:
    """An agent run whose Redis is killed and restarted (or left down) after the tool ran.

    Returns the run's error (None when it went through), the effects, the store and the model.
    """

    def fault() -> None:
        if down_at_save:
            redis.stop(crash=True)
        else:
            redis.restart(crash=True)

    effects = Effects()
    model = AgentModel(faults={("outcome", 0): fault})
    store = redis_store(redis.url, f"r{uuid.uuid4().hex[:8]}:")
    agent = make_agent(FakeModel(model.script(), strict_script=True), store, effects)
    failure: BaseException | None = None
    try:
        response = agent.agent("Charge 42", Summary)
        assert response.state == AgentState.COMPLETED
    except Exception as exc:
        failure = exc
    if down_at_save:
        redis.start()
    (agent_id,) = resolve(store.list_sessions())
    if failure is not None:  # a new agent (another process, say) resumes the session
        resumed = make_agent(FakeModel(model.script(), strict_script=True), store, effects)
        finish(resumed, agent_id)
    stored = resolve(store.get_session(agent_id))
    assert stored["state"] == AgentState.COMPLETED.value
    close(store)
    return failure, effects, store, model


@row(
    "Sessions",
    "Redis killed + restarted mid-run (invariants)",
    "session intact and resumable; the tool ran once",
)
def test_redis_restart_loses_nothing(durable_redis: RestartableRedis) -> None:
    _, effects, _, _ = run_across_a_restart(durable_redis, down_at_save=False)
    assert effects.charges == [42]  # replayed from the journal if the run had to resume
    assert durable_redis.restarts == 1


@row(
    "Sessions",
    "Redis killed + restarted mid-run (recovery)",
    "the run goes on: the handler reconnects",
)
def test_redis_restart_is_transparent(durable_redis: RestartableRedis) -> None:
    failure, effects, _, _ = run_across_a_restart(durable_redis, down_at_save=False)
    assert failure is None
    assert effects.charges == [42]


@row(
    "Sessions",
    "Redis down during a save (invariants)",
    "the run stops; once Redis is back it resumes, tool ran once",
)
def test_redis_down_at_save_loses_nothing(durable_redis: RestartableRedis) -> None:
    failure, effects, _, _ = run_across_a_restart(durable_redis, down_at_save=True)
    assert failure is not None
    assert effects.charges == [42]


@row(
    "Sessions",
    "Redis down during a save (error type)",
    "a typed MBXAIError naming the session",
)
def test_redis_down_at_save_is_a_typed_error(durable_redis: RestartableRedis) -> None:
    failure, _, _, _ = run_across_a_restart(durable_redis, down_at_save=True)
    assert isinstance(failure, MBXAIError), repr(failure)


# -- a corrupt stored record -----------------------------------------------------------------


def corrupt_file(directory: Path, agent_id: str, damage: bytes) -> None:
    for path in directory.glob("*.json"):
        if json.loads(path.read_bytes())["id"] == agent_id:
            path.write_bytes(damage)
            return
    raise AssertionError(f"no file for {agent_id}")


def corrupt(kind: str, store: Any, agent_id: str, damage: bytes) -> None:
    """Overwrite one session's stored bytes behind the store's back."""
    if kind == "file":
        corrupt_file(Path(store.directory), agent_id, damage)
        return
    if kind == "redis":
        resolve(store.client.hset(store.prefix + agent_id, "data", damage))
        return
    table = store._table
    update = table.update().where(table.c.id == agent_id).values(data=damage.decode())
    engine = store.engine
    if isinstance(engine, sqlalchemy.Engine):
        with engine.begin() as conn:
            conn.execute(update)
    else:
        with engine.begin() as conn:
            conn.execute(update)


@row(
    "Sessions",
    "a corrupt stored record",
    "SessionCorruptError naming the session; other sessions unaffected",
)
@pytest.mark.parametrize(
    "damage",
    [
        b'{"expires_at": null, "version": 3, "id": "trunc',
        b'{"version": 3, "state": "bogus"}',
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
    ],
    ids=["truncated", "not-a-session", "nested-1000-deep"],
)
def test_corrupt_record(make_store: Any, damage: bytes) -> None:
    kind = make_store.kind
    store = make_store()
    effects = Effects()
    model = AgentModel(human=decision())
    agent = make_agent(
        FakeModel(model.script(), strict_script=True), store, effects, human_in_loop=True
    )
    broken = agent.agent("first", Summary)
    healthy = agent.agent("second", Summary)
    assert broken.is_waiting_for_human()
    assert healthy.is_waiting_for_human()
    if kind == "file" and damage.startswith(b'{"version"'):
        damage = json.dumps({"expires_at": None, "version": 3, "id": broken.agent_id}).encode()
    elif kind == "file" and damage.startswith(b'{"a"'):
        head = json.dumps({"expires_at": None, "version": 3, "id": broken.agent_id})
        damage = head[:-1].encode() + b', "data": ' + damage + b"}"
    corrupt(kind, store, broken.agent_id, damage)

    def answer(response: Any) -> HumanInLoopResponse:
        request = response.human_interaction_request
        return HumanInLoopResponse(
            interaction_id=request.id,
            response_type=HumanInteractionType.DECISION,
            decision="proceed",
        )

    with pytest.raises(SessionCorruptError) as info:
        agent.agent("Continue", Summary, agent_id=broken.agent_id, human_response=answer(broken))
    assert broken.agent_id in str(info.value)
    assert info.value.agent_id == broken.agent_id
    # the other session, in the same store, is unaffected
    done = agent.agent(
        "Continue", Summary, agent_id=healthy.agent_id, human_response=answer(healthy)
    )
    assert done.state == AgentState.COMPLETED
    assert effects.charges == [42]
    assert set(agent.list_sessions()) == {broken.agent_id, healthy.agent_id}


# -- two workers resume one session ----------------------------------------------------------


class Rendezvous:
    """A handler wrapper whose loads, once armed, wait until both workers have loaded.

    So both workers surely read the same version before either writes: the race is
    forced, not left to scheduling luck.
    """

    def __init__(self, inner: Any, gate: Event, loads: list[str]) -> None:
        self.inner = inner
        self.gate = gate
        self.loads = loads
        self.armed = False

    def get_session(self, agent_id: str) -> dict[str, Any] | None:
        data = resolve(self.inner.get_session(agent_id))
        if self.armed:
            self.loads.append(agent_id)
            if len(self.loads) >= 2:
                self.gate.set()
            assert self.gate.wait(10), "the other worker never loaded the session"
        return data  # type: ignore[no-any-return]

    def set_session(
        self, agent_id: str, session_data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        resolve(self.inner.set_session(agent_id, session_data, expected_version))

    def delete_session(self, agent_id: str) -> bool:
        return bool(resolve(self.inner.delete_session(agent_id)))

    def list_sessions(self) -> list[str]:
        return list(resolve(self.inner.list_sessions()))

    def session_exists(self, agent_id: str) -> bool:
        return bool(resolve(self.inner.session_exists(agent_id)))


@row(
    "Sessions",
    "two workers resume one paused session at once",
    "one completes, the other gets SessionConflictError; the tool ran once",
)
def test_two_workers_answer_the_same_pause(make_store: Any) -> None:
    results, effects, third, agent_id = race_with_decision(make_store)
    completed = [r for r in results if not isinstance(r, BaseException)]
    conflicts = [r for r in results if isinstance(r, SessionConflictError)]
    assert len(completed) == 1, results
    assert len(conflicts) == 1, results
    assert completed[0].state == AgentState.COMPLETED
    assert effects.charges == [42]
    info = third.get_session_info(agent_id)
    assert info is not None
    assert info["state"] == AgentState.COMPLETED.value


def race_with_decision(make_store: Callable[[], Any]) -> Any:
    effects = Effects()
    gate = Event()
    loads: list[str] = []
    stores = [Rendezvous(make_store(), gate, loads) for _ in range(3)]
    model = AgentModel(human=decision())
    fake = FakeModel(model.script(), strict_script=True)
    agents = [make_agent(fake, store, effects, human_in_loop=True) for store in stores]
    response = agents[0].agent("Charge 42 once approved", Summary)
    assert response.is_waiting_for_human()
    request = response.human_interaction_request
    answer = HumanInLoopResponse(
        interaction_id=request.id, response_type=HumanInteractionType.DECISION, decision="proceed"
    )
    stores[0].armed = stores[1].armed = True

    def worker(agent: AgentClient) -> Any:
        try:
            return agent.agent(
                "Continue", Summary, agent_id=response.agent_id, human_response=answer
            )
        except MBXAIError as exc:
            return exc

    results = gather([lambda: worker(agents[0]), lambda: worker(agents[1])])
    return results, effects, agents[2], response.agent_id


def race_after_a_crash(make_store: Callable[[], Any]) -> Any:
    effects = Effects()
    gate = Event()
    loads: list[str] = []
    stores = [Rendezvous(make_store(), gate, loads) for _ in range(3)]
    # the task's first model call fails: the process "dies" with the task in progress
    model = AgentModel(faults={("tool_call", 0): lambda: Failure(400, "the worker died here")})
    fake = FakeModel(model.script(), strict_script=True)
    agents = [make_agent(fake, store, effects) for store in stores]
    with pytest.raises(BadRequestError):
        agents[0].agent("Charge 42", Summary)
    (agent_id,) = agents[2].list_sessions()
    stores[0].armed = stores[1].armed = True

    def worker(agent: AgentClient) -> Any:
        try:
            return agent.agent("Continue", Summary, agent_id=agent_id)
        except MBXAIError as exc:
            return exc

    results = gather([lambda: worker(agents[0]), lambda: worker(agents[1])])
    return results, effects, agents[2], agent_id


@row(
    "Sessions",
    "two workers resume one interrupted session at once",
    "one runs the task, the other gets SessionConflictError before any tool runs",
)
def test_two_workers_resume_an_interrupted_task(make_store: Any) -> None:
    results, effects, third, agent_id = race_after_a_crash(make_store)
    assert effects.charges == [42], f"the tool ran {len(effects.charges)} times"
    assert sum(isinstance(r, SessionConflictError) for r in results) == 1, results
    info = third.get_session_info(agent_id)
    assert info is not None
    assert info["state"] == AgentState.COMPLETED.value
