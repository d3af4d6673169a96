"""The flavour-free halves of the shipped session stores: everything but their I/O calls.

* the file store's blocking half, :class:`Files` (records as JSON files, atomic replace,
  compare-and-set under an inter-process lock), which the async store runs in worker
  threads and the sync one calls directly, and :func:`file_name` (ids as safe names);
* the Redis store's compare-and-set script, :data:`REDIS_CAS`;
* the SQL store's table, :func:`sessions_table`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import uuid
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from filelock import FileLock

from . import _json
from ._errors import SessionCorruptError
from ._sessions import (
    check_agent_id,
    check_expected_version,
    conflict_error,
    expiry,
    session_version,
)

if TYPE_CHECKING:
    from sqlalchemy import Table

__all__ = ["REDIS_CAS", "Files", "file_name", "parse_record", "sessions_table"]


def parse_record(agent_id: str, raw: str | bytes, where: str) -> dict[str, Any]:
    """A stored record's JSON as a dict, or :class:`SessionCorruptError` naming the session
    and ``where`` it is (not JSON, nested too deeply, not an object)."""
    try:
        data = _json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SessionCorruptError(
            f"session {agent_id!r} {where} is not a JSON object", agent_id=agent_id
        )
    return data


# -- files ------------------------------------------------------------------------------------

#: Characters kept as they are in file names; everything else is %XX-encoded (UTF-8).
#: Lower case only, so names stay distinct on case-insensitive file systems too.
_SAFE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
_MAX_NAME_BYTES = 200  # room for ".json" and for temporary names within 255 bytes
_LOCK_BUCKETS = 64
_HEADER = re.compile(rb'^\{"expires_at": (null|-?[0-9][0-9.eE+-]*), "version": ([0-9]+),')


def file_name(agent_id: str) -> str:
    """``agent_id`` as a file name that cannot leave the directory (no ``/``, no ``..``).

    Reversible (``unquote``) unless the encoded id is too long for a file name: then it is
    cut and a hash added after a ``~`` (which the encoding never produces), and the id is
    read back from the record itself.
    """
    name = "".join(
        char if char in _SAFE_CHARS else "".join(f"%{b:02X}" for b in char.encode("utf-8"))
        for char in agent_id
    )
    if len(name) > _MAX_NAME_BYTES:
        name = name[:120] + "~" + hashlib.sha256(agent_id.encode()).hexdigest()
    return name


class Files:
    """The blocking half of the file store, shared by both flavours.

    A record is ``<directory>/<encoded id>.json`` holding ``{"expires_at": ..., "version":
    ..., "id": ..., "data": <the session>}``. Writes go to a temporary file that is fsynced and then
    renamed over the record (``os.replace`` is atomic), so readers see the old or the new
    record, never half of one, even after a crash. Writers of one record serialise on an
    inter-process file lock (one of a fixed set of lock files, so locks never pile up);
    the OS releases it when a process dies.
    """

    def __init__(self, directory: Path, ttl: float | None, fsync: bool, lock_timeout: float):
        self.directory = directory
        self.ttl = ttl
        self.fsync = fsync
        self.lock_timeout = lock_timeout
        self._made = False

    # paths and locks

    def _path(self, agent_id: str) -> Path:
        return self.directory / (file_name(check_agent_id(agent_id)) + ".json")

    def _lock(self, path: Path) -> FileLock:
        bucket = zlib.crc32(path.name.encode()) % _LOCK_BUCKETS
        return FileLock(self.directory / f".lock-{bucket:02x}", timeout=self.lock_timeout)

    def _ensure_directory(self) -> None:
        if not self._made:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._made = True

    # reading

    def _parse(self, path: Path, raw: bytes) -> tuple[float | None, int, Any]:
        return self._record(path, raw)[:3]

    def _record(self, path: Path, raw: bytes) -> tuple[float | None, int, Any, str]:
        """``(expires_at, version, data, agent_id)`` of a record file's bytes."""
        try:
            record = _json.loads(raw)
            return record["expires_at"], int(record["version"]), record["data"], str(record["id"])
        except (ValueError, KeyError, TypeError):
            raise SessionCorruptError(
                f"session file {path} is not a valid session record", agent_id=unquote(path.stem)
            ) from None

    def _header(self, path: Path) -> tuple[float | None, int] | None:
        """``(expires_at, version)`` of a record, reading only its first bytes; None if absent."""
        try:
            with path.open("rb") as f:
                head = f.read(128)
                match = _HEADER.match(head)
                if match is None:  # not written by this store's json.dumps: parse it all
                    expires_at, version, _ = self._parse(path, head + f.read())
                    return expires_at, version
        except FileNotFoundError:
            return None
        exp = match.group(1)
        return (None if exp == b"null" else float(exp)), int(match.group(2))

    @staticmethod
    def _live(header: tuple[float | None, int] | None, now: float) -> bool:
        return header is not None and (header[0] is None or header[0] > now)

    def get(self, agent_id: str) -> dict[str, Any] | None:
        path = self._path(agent_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        expires_at, _, data = self._parse(path, raw)
        if expires_at is not None and expires_at <= time.time():
            return None
        if not isinstance(data, dict):
            raise SessionCorruptError(
                f"session file {path} does not hold a JSON object", agent_id=agent_id
            )
        return data

    def exists(self, agent_id: str) -> bool:
        return self._live(self._header(self._path(agent_id)), time.time())

    def list(self) -> list[str]:
        now = time.time()
        found = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        for entry in entries:
            if not entry.name.endswith(".json") or not entry.is_file():
                continue
            path = Path(entry.path)
            try:
                live = self._live(self._header(path), now)
            except SessionCorruptError:
                live = True  # it is there; reading it reports the damage
            if not live:
                continue
            stem = entry.name[: -len(".json")]
            if "~" in stem:  # a long id, cut and hashed: the record knows it
                with contextlib.suppress(OSError, SessionCorruptError):
                    found.append(self._record(path, path.read_bytes())[3])
            else:
                found.append(unquote(stem))
        return sorted(found)

    # writing

    def set(self, agent_id: str, data: dict[str, Any], expected_version: int | None) -> None:
        path = self._path(agent_id)
        expected = check_expected_version(expected_version)
        now = time.time()
        record = {
            "expires_at": expiry(self.ttl, now),
            "version": session_version(data),
            "id": agent_id,
            "data": data,
        }
        payload = json.dumps(record).encode()
        self._ensure_directory()
        with self._lock(path):
            if expected is not None:
                header = self._header(path)
                actual = header[1] if header is not None and self._live(header, now) else 0
                if actual != expected:
                    raise conflict_error(agent_id, expected, actual)
            self._replace(path, payload)

    def _replace(self, path: Path, payload: bytes) -> None:
        tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self.fsync and os.name == "posix":  # make the rename itself durable
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def delete(self, agent_id: str) -> bool:
        path = self._path(agent_id)
        if not self.directory.exists():
            return False
        with self._lock(path):
            live = self._live(self._header(path), time.time())
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return live

    def purge(self) -> int:
        now = time.time()
        purged = 0
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if not entry.name.endswith(".json"):
                continue
            path = Path(entry.path)
            with contextlib.suppress(SessionCorruptError):
                header = self._header(path)
                if header is None or self._live(header, now):
                    continue
                with self._lock(path):  # look again: it may have been rewritten meanwhile
                    header = self._header(path)
                    if header is not None and not self._live(header, now):
                        path.unlink()
                        purged += 1
        return purged


# -- Redis ------------------------------------------------------------------------------------

#: Compare-and-set, atomic inside Redis. A record is a hash {version, data}.
#: ARGV: expected version ('' = write unconditionally), new version, data, ttl in ms ('' = none).
REDIS_CAS = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] ~= '' and current ~= tonumber(ARGV[1]) then
  return {0, current}
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'data', ARGV[3])
if ARGV[4] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  redis.call('PERSIST', KEYS[1])
end
return {1, current}
"""


# -- SQL --------------------------------------------------------------------------------------


def sessions_table(name: str) -> Table:
    from sqlalchemy import Column, Double, Index, Integer, MetaData, String, Table, Text
    from sqlalchemy.dialects import mysql

    return Table(
        name,
        MetaData(),
        Column("id", String(255), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("data", Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"), nullable=False),
        Column("updated_at", Double, nullable=False),
        Column("expires_at", Double, nullable=True),
        Index(f"ix_{name}_expires_at", "expires_at"),
    )
