"""Session stores for the agent: a directory of JSON files, Redis, and SQL databases.

Every store here keeps one JSON record per ``agent_id`` and implements the seed's
``SessionHandler`` protocol plus atomic compare-and-set: ``set_session(agent_id, data,
expected_version=N)`` writes only if the stored record's ``"version"`` is ``N`` (``0``:
no record yet), else raises :class:`~mbxai.SessionConflictError`. With that, several
agent processes (or machines) can share one store without lost updates. Each store can
also expire records ``ttl`` seconds after their last write.

The Redis and SQL stores need extras (``mbxai[redis]``, ``mbxai[sql]``); their libraries
are imported when a store is created, never by ``import mbxai``.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _concurrency
from .._checks import check_bool, check_number
from .._concurrency import AsyncLock
from .._errors import ConfigurationError
from .._sessions import (
    check_agent_id,
    check_expected_version,
    check_ttl,
    conflict_error,
    expiry,
    session_version,
)
from .._stores import REDIS_CAS, Files, parse_record, sessions_table

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["AsyncFileSessionHandler", "AsyncRedisSessionHandler", "AsyncSQLSessionHandler"]


# -- files ------------------------------------------------------------------------------------


class AsyncFileSessionHandler:
    """Sessions as JSON files in a directory: durable, safe with several processes.

    One file per session (``<id>.json``; ids are %-encoded, so any id is a safe file
    name). Writes are atomic (temporary file, fsync, rename) and compare-and-set runs
    under an inter-process file lock, so any number of processes on one machine (or on
    a network file system with working ``flock``) can share the directory. The async
    flavour does its file I/O in worker threads.

    Args:
        directory: Where the files go (created on the first write, mode 0700).
        ttl: Seconds a record lives after its last write; expired records are not
            returned or listed, and :meth:`purge_expired` deletes their files.
        fsync: Flush each write to disk before it counts (turn off only for tests).
        lock_timeout: Longest wait for another writer's lock, in seconds, before
            ``filelock.Timeout`` is raised (negative: wait forever).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        ttl: float | None = None,
        fsync: bool = True,
        lock_timeout: float = 60.0,
    ) -> None:
        if not isinstance(directory, str | os.PathLike) or not str(directory):
            raise ConfigurationError(f"directory must be a path, got {directory!r}")
        check_bool("fsync", fsync)
        check_number("lock_timeout", lock_timeout)
        self._files = Files(Path(directory).absolute(), check_ttl(ttl), fsync, lock_timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._files.directory)!r}, ttl={self._files.ttl})"

    @property
    def directory(self) -> Path:
        return self._files.directory

    @property
    def ttl(self) -> float | None:
        return self._files.ttl

    async def get_session(self, agent_id: str) -> dict[str, Any] | None:
        """The stored record, or None if there is none (or it expired)."""
        return await _concurrency.async_call_blocking(self._files.get, agent_id)

    async def set_session(
        self, agent_id: str, session_data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        """Store the record; with ``expected_version``, only if the stored one has it."""
        await _concurrency.async_call_blocking(
            self._files.set, agent_id, session_data, expected_version
        )

    async def delete_session(self, agent_id: str) -> bool:
        """Delete the record; True if there was one."""
        return await _concurrency.async_call_blocking(self._files.delete, agent_id)

    async def list_sessions(self) -> list[str]:
        """Ids of all stored (unexpired) records, sorted."""
        return await _concurrency.async_call_blocking(self._files.list)

    async def session_exists(self, agent_id: str) -> bool:
        return await _concurrency.async_call_blocking(self._files.exists, agent_id)

    async def purge_expired(self) -> int:
        """Delete the files of expired records; returns how many."""
        return await _concurrency.async_call_blocking(self._files.purge)


# -- Redis ------------------------------------------------------------------------------------


class AsyncRedisSessionHandler:
    """Sessions in Redis, shared by any number of processes and machines.

    Each session is a hash ``<prefix><agent_id>`` with the record's version and JSON;
    compare-and-set is one Lua script, so it is atomic on the server. Listing uses
    ``SCAN``, never ``KEYS``. The async flavour needs asyncio (it uses redis-py's asyncio
    client); on trio use the sync flavour, ``RedisSessionHandler``: an async agent runs a
    sync handler in worker threads.

    Args:
        url: A Redis URL (``redis://``, ``rediss://``, ``unix://``); default
            ``redis://localhost:6379/0``. The handler owns that client and closes it in
            :meth:`aclose`.
        client: A ready client instead of a URL: a Sentinel ``master_for(...)`` client,
            a ``RedisCluster``, or one with your own pool and TLS settings. It is not
            closed by :meth:`aclose`. ``decode_responses`` may be on or off.
        prefix: Key prefix of the session keys.
        ttl: Seconds a record lives after its last write (Redis expires it).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Redis | RedisCluster | None = None,
        prefix: str = "mbxai:session:",
        ttl: float | None = None,
    ) -> None:
        if url is not None and client is not None:
            raise ConfigurationError("give either url or client, not both")
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix must be a string, got {prefix!r}")
        self.prefix = prefix
        self.ttl = check_ttl(ttl)
        try:
            from redis.asyncio import Redis
            from redis.asyncio.cluster import RedisCluster
            from redis.asyncio.retry import Retry
            from redis.backoff import ExponentialWithJitterBackoff
            from redis.exceptions import ConnectionError as RedisConnectionError
            from redis.exceptions import TimeoutError as RedisTimeoutError
        except ImportError:
            raise ConfigurationError(
                "AsyncRedisSessionHandler needs redis-py: pip install 'mbxai[redis]'"
            ) from None
        if client is None:
            if url is not None and not isinstance(url, str):
                raise ConfigurationError(f"url must be a string, got {type(url).__name__}")
            # Retry a few times on a dropped connection, so a Redis restart or failover
            # between two saves is invisible to the run.
            try:
                self._client: Redis | RedisCluster = Redis.from_url(
                    url or "redis://localhost:6379/0",
                    retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=3),
                    retry_on_error=[RedisConnectionError, RedisTimeoutError],
                )
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(f"url is not a Redis URL: {exc}") from None
            self._owned = True
        else:
            if not isinstance(client, Redis | RedisCluster):
                raise ConfigurationError(
                    f"client must be a {Redis.__module__}.Redis or a RedisCluster client, got "
                    f"{type(client).__module__}.{type(client).__name__}"
                )
            self._client = client
            self._owned = False
        self._cas = self._client.register_script(REDIS_CAS)
        self._pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r}, ttl={self.ttl})"

    @property
    def client(self) -> Redis | RedisCluster:
        """The Redis client in use."""
        return self._client

    def _key(self, agent_id: str) -> str:
        _concurrency.async_ensure_asyncio(type(self).__name__)  # async only
        return self.prefix + check_agent_id(agent_id)

    async def get_session(self, agent_id: str) -> dict[str, Any] | None:
        """The stored record, or None if there is none (or it expired)."""
        raw = await self._client.hget(self._key(agent_id), "data")
        if raw is None:
            return None
        return parse_record(agent_id, raw, "in Redis")

    async def set_session(
        self, agent_id: str, session_data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        """Store the record; with ``expected_version``, only if the stored one has it."""
        key = self._key(agent_id)
        expected = check_expected_version(expected_version)
        version = session_version(session_data)
        payload = json.dumps(session_data)
        ttl_ms = "" if self.ttl is None else str(max(1, round(self.ttl * 1000)))
        args = ["" if expected is None else str(expected), str(version), payload, ttl_ms]
        written, actual = await self._cas(keys=[key], args=args)
        if not written:
            raise conflict_error(agent_id, expected or 0, int(actual))

    async def delete_session(self, agent_id: str) -> bool:
        """Delete the record; True if there was one."""
        return int(await self._client.delete(self._key(agent_id))) > 0

    async def list_sessions(self) -> list[str]:
        """Ids of all stored records, sorted (found with ``SCAN``)."""
        _concurrency.async_ensure_asyncio(type(self).__name__)  # async only
        found = set()
        async for key in self._client.scan_iter(match=self._pattern, count=1000):
            name = key.decode() if isinstance(key, bytes) else str(key)
            found.add(name[len(self.prefix) :])
        return sorted(found)

    async def session_exists(self, agent_id: str) -> bool:
        return int(await self._client.exists(self._key(agent_id))) > 0

    async def aclose(self) -> None:
        """Close the client if this handler created it (from a URL)."""
        if self._owned:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncRedisSessionHandler:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# -- SQL --------------------------------------------------------------------------------------

#: Drivers for URLs that name only a database: SQLite through aiosqlite, PostgreSQL
#: through psycopg (3), which serves both flavours.
_DEFAULT_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


class AsyncSQLSessionHandler:
    """Sessions in a SQL database (SQLAlchemy 2): SQLite for one machine, PostgreSQL for many.

    One row per session (``id``, ``version``, ``data`` as JSON text, ``updated_at``,
    ``expires_at``) in a table created on first use. Compare-and-set is a single
    ``UPDATE ... WHERE id = ? AND version = ?`` (or an ``INSERT`` for a new session,
    where a duplicate key means someone else created it), so it is atomic in the
    database. The async flavour needs asyncio (it uses SQLAlchemy's asyncio extension);
    on trio use the sync flavour, ``SQLSessionHandler``: an async agent runs a sync
    handler in worker threads.

    Args:
        url: A database URL. ``sqlite:///sessions.db`` uses aiosqlite and
            ``postgresql://user:pw@host/db`` uses psycopg unless the URL names a driver.
            The handler owns that engine and disposes of it in :meth:`aclose`.
        engine: A ready engine instead of a URL (not disposed of by :meth:`aclose`).
        table: The table's name.
        ttl: Seconds a record lives after its last write; expired rows are not returned
            or listed, and :meth:`purge_expired` deletes them.
        **engine_options: Passed to the engine factory with ``url`` (pool sizes, ...).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: AsyncEngine | None = None,
        table: str = "mbxai_sessions",
        ttl: float | None = None,
        **engine_options: Any,
    ) -> None:
        if (url is None) == (engine is None):
            raise ConfigurationError("give exactly one of url and engine")
        if not isinstance(table, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", table):
            raise ConfigurationError(
                f"table must be a plain SQL name (letters, digits, _), got {table!r}"
            )
        self.ttl = check_ttl(ttl)
        try:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError, NoSuchModuleError
            from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
        except ImportError:
            raise ConfigurationError(
                "AsyncSQLSessionHandler needs SQLAlchemy: pip install 'mbxai[sql]'"
            ) from None
        if engine is not None:
            if not isinstance(engine, AsyncEngine):
                raise ConfigurationError(
                    f"engine must be a SQLAlchemy {AsyncEngine.__name__}, got {type(engine).__name__}"
                )
            self._engine = engine
            self._owned = False
        else:
            if not isinstance(url, str):
                raise ConfigurationError(f"url must be a string, got {type(url).__name__}")
            try:
                parsed = make_url(url)
            except ArgumentError as exc:
                raise ConfigurationError(f"url is not a database URL: {exc}") from None
            parsed = parsed.set(
                drivername=_DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername)
            )
            if parsed.get_backend_name() == "sqlite":
                # Writers wait for each other's locks instead of failing with "locked".
                engine_options.setdefault("connect_args", {}).setdefault("timeout", 30)
            try:
                self._engine = create_async_engine(parsed, **engine_options)
            except (ArgumentError, ImportError, NoSuchModuleError, TypeError) as exc:
                shown = parsed.render_as_string(hide_password=True)
                raise ConfigurationError(
                    f"url {shown!r}: cannot create an engine: {type(exc).__name__}: {exc}"
                ) from None
            self._owned = True
        self._table = sessions_table(table)
        self._created = False
        self._create_lock = AsyncLock()

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"{type(self).__name__}({url!r}, table={self._table.name!r}, ttl={self.ttl})"

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine in use."""
        return self._engine

    async def _ready(self) -> AsyncEngine:
        """The engine, once the table exists (created on first use)."""
        _concurrency.async_ensure_asyncio(type(self).__name__)  # async only
        if not self._created:
            async with self._create_lock:
                if not self._created:
                    await self._create_table()
                    self._created = True
        return self._engine

    async def _create_table(self) -> None:
        from sqlalchemy.exc import DBAPIError
        from sqlalchemy.schema import CreateIndex, CreateTable

        for attempt in (1, 2):
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(CreateTable(self._table, if_not_exists=True))
                    for index in self._table.indexes:
                        await conn.execute(CreateIndex(index, if_not_exists=True))
                return
            except DBAPIError:
                # Another process created it at the same moment (PostgreSQL can report
                # that as a duplicate key even with IF NOT EXISTS): look again once.
                if attempt == 2:
                    raise

    def _live(self, now: float) -> Any:
        from sqlalchemy import or_

        expires_at = self._table.c.expires_at
        return or_(expires_at.is_(None), expires_at > now)

    async def _version(self, conn: AsyncConnection, agent_id: str, now: float) -> int:
        from sqlalchemy import select

        t = self._table
        row = (
            await conn.execute(select(t.c.version).where(t.c.id == agent_id, self._live(now)))
        ).first()
        return 0 if row is None else int(row[0])

    async def get_session(self, agent_id: str) -> dict[str, Any] | None:
        """The stored record, or None if there is none (or it expired)."""
        from sqlalchemy import select

        check_agent_id(agent_id)
        engine = await self._ready()
        t = self._table
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(t.c.data).where(t.c.id == agent_id, self._live(time.time()))
                )
            ).first()
        if row is None:
            return None
        return parse_record(agent_id, row[0], f"in table {t.name}")

    async def set_session(
        self, agent_id: str, session_data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        """Store the record; with ``expected_version``, only if the stored one has it."""
        from sqlalchemy import insert, update
        from sqlalchemy.exc import IntegrityError

        check_agent_id(agent_id)
        expected = check_expected_version(expected_version)
        now = time.time()
        values = {
            "version": session_version(session_data),
            "data": json.dumps(session_data),
            "updated_at": now,
            "expires_at": expiry(self.ttl, now),
        }
        engine = await self._ready()
        t = self._table
        while expected is None:  # unconditional: update, else insert, else (raced) update
            async with engine.begin() as conn:
                result = await conn.execute(update(t).where(t.c.id == agent_id).values(values))
            if result.rowcount:
                return
            try:
                async with engine.begin() as conn:
                    await conn.execute(insert(t).values(id=agent_id, **values))
                return
            except IntegrityError:
                continue  # created meanwhile: update it
        if expected == 0:
            try:
                async with engine.begin() as conn:
                    await conn.execute(insert(t).values(id=agent_id, **values))
                return
            except IntegrityError:
                pass  # a row exists; it counts as absent only if it has expired
            condition = t.c.expires_at.is_not(None) & (t.c.expires_at <= now)
        else:
            condition = (t.c.version == expected) & self._live(now)
        async with engine.begin() as conn:
            result = await conn.execute(
                update(t).where(t.c.id == agent_id, condition).values(values)
            )
            if result.rowcount == 1:
                return
            actual = await self._version(conn, agent_id, now)
        raise conflict_error(agent_id, expected, actual)

    async def delete_session(self, agent_id: str) -> bool:
        """Delete the record; True if there was one (an expired one does not count)."""
        from sqlalchemy import delete

        check_agent_id(agent_id)
        engine = await self._ready()
        t = self._table
        async with engine.begin() as conn:
            live = await conn.execute(delete(t).where(t.c.id == agent_id, self._live(time.time())))
            await conn.execute(delete(t).where(t.c.id == agent_id))  # an expired remnant
        return bool(live.rowcount)

    async def list_sessions(self) -> list[str]:
        """Ids of all stored (unexpired) records, sorted."""
        from sqlalchemy import select

        engine = await self._ready()
        t = self._table
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(t.c.id).where(self._live(time.time())).order_by(t.c.id)
            )
            return [str(row[0]) for row in rows]

    async def session_exists(self, agent_id: str) -> bool:
        from sqlalchemy import select

        check_agent_id(agent_id)
        engine = await self._ready()
        t = self._table
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(t.c.id).where(t.c.id == agent_id, self._live(time.time()))
                )
            ).first()
        return row is not None

    async def purge_expired(self) -> int:
        """Delete expired rows; returns how many."""
        from sqlalchemy import delete

        engine = await self._ready()
        t = self._table
        async with engine.begin() as conn:
            result = await conn.execute(
                delete(t).where(t.c.expires_at.is_not(None), t.c.expires_at <= time.time())
            )
        return int(result.rowcount)

    async def aclose(self) -> None:
        """Dispose of the engine if this handler created it (from a URL)."""
        if self._owned:
            await self._engine.dispose()

    async def __aenter__(self) -> AsyncSQLSessionHandler:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
