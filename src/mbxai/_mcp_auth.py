"""OAuth for remote MCP servers, on the SDK's ``OAuthClientProvider``: the settings, the
token stores and the authorization step an application (or an agent's UI) completes.

:class:`MCPOAuth` is what ``register_mcp_server(..., auth=MCPOAuth(...))`` takes. The
SDK does the protocol (discovery of the protected resource and authorization server
metadata, dynamic client registration, PKCE, the code exchange, refreshing): mbxai gives
it a token store and the two hooks of the authorization step, and bounds the wait for a
human. The step is completed one of two ways:

* ``authorize=``: a function (sync or async) given the authorization URL, returning the
  URL the authorization server redirected the browser to (or the ``code`` and ``state``);
  a CLI opens a browser and runs a small callback server, a test follows the redirect;
* nothing: the authorization waits, as a pending request (:attr:`MCPOAuth.pending_url`,
  and a ``DIALOG_OPTION`` human request of the MCP client), for :meth:`MCPOAuth.complete`
  from any thread (a web UI's callback route, an agent's human response), at most
  ``authorization_timeout`` seconds.

Token stores follow the SDK's ``TokenStorage`` protocol: :class:`InMemoryTokenStorage`
(the default) and :class:`FileTokenStorage` (a JSON file only its owner can read, its
values encrypted when given a key); any object with the protocol's four async methods
will do. Nothing here imports ``mcp`` until it is used.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from ._errors import ConfigurationError, HumanResponseError
from ._logging import register_secret
from ._secrets import SecretBox
from .agent.models import (
    DialogOption,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInteractionType,
)

__all__ = [
    "OAUTH_DIALOG",
    "FileTokenStorage",
    "InMemoryTokenStorage",
    "MCPOAuth",
    "PendingAuthorization",
    "callback_result",
]

#: The dialog option an OAuth authorization is shown as: the UI opens
#: ``parameters["authorization_url"]`` and answers with ``callback_url:<the redirect URL>``.
OAUTH_DIALOG: Final = "mcp_oauth"
_MAX_CALLBACK: Final = 8_192


class InMemoryTokenStorage:
    """Tokens and the registered client kept in memory (gone with the process)."""

    def __init__(self) -> None:
        self._tokens: Any = None
        self._client: Any = None

    def __repr__(self) -> str:
        return f"InMemoryTokenStorage(tokens={'yes' if self._tokens else 'none'})"

    async def get_tokens(self) -> Any:
        return self._tokens

    async def set_tokens(self, tokens: Any) -> None:
        self._tokens = tokens

    async def get_client_info(self) -> Any:
        return self._client

    async def set_client_info(self, client_info: Any) -> None:
        self._client = client_info


class FileTokenStorage:
    """Tokens and the registered client in a JSON file (mode 0600, replaced atomically).

    Args:
        path: The file (created on the first save; its folder must exist).
        secret_key: When given (or ``MBXAI_SECRET_KEY`` is set and ``encrypt=True``), the
            values are encrypted with it (Fernet): the file alone gives no token away.
        encrypt: Encrypt with ``MBXAI_SECRET_KEY`` when no ``secret_key`` is given.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, secret_key: str | None = None, encrypt: bool = False
    ) -> None:
        if not isinstance(path, str | os.PathLike) or not str(path):
            raise ConfigurationError(f"FileTokenStorage path must be a path, got {path!r}")
        if secret_key is not None and (not isinstance(secret_key, str) or not secret_key):
            raise ConfigurationError("FileTokenStorage secret_key must be a non-empty string")
        self.path = Path(path)
        self._box = (
            SecretBox(secret_key)
            if secret_key is not None or (encrypt and os.environ.get("MBXAI_SECRET_KEY"))
            else None
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileTokenStorage(path={str(self.path)!r}, encrypted={self._box is not None})"

    def _load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {}  # a damaged file: authorize again
        return data if isinstance(data, dict) else {}

    def _read(self, key: str) -> str | None:
        with self._lock:
            value = self._load().get(key)
        if not isinstance(value, str):
            return None
        if self._box is not None:
            try:
                value = self._box.decrypt(value)
            except Exception:  # another key, or tampered with: authorize again
                return None
        return value

    def _write(self, key: str, value: str) -> None:
        stored = self._box.encrypt(value) if self._box is not None else value
        with self._lock:
            data = self._load()
            data[key] = stored
            folder = self.path.parent
            fd, temp = tempfile.mkstemp(prefix=".tokens-", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle)
                os.chmod(temp, 0o600)
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise

    async def get_tokens(self) -> Any:
        from mcp.shared.auth import OAuthToken

        text = self._read("tokens")
        if text is None:
            return None
        try:
            tokens = OAuthToken.model_validate_json(text)
        except ValueError:
            return None
        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        return tokens

    async def set_tokens(self, tokens: Any) -> None:
        self._write("tokens", tokens.model_dump_json(exclude_none=True))

    async def get_client_info(self) -> Any:
        from mcp.shared.auth import OAuthClientInformationFull

        text = self._read("client_info")
        if text is None:
            return None
        try:
            return OAuthClientInformationFull.model_validate_json(text)
        except ValueError:
            return None

    async def set_client_info(self, client_info: Any) -> None:
        self._write("client_info", client_info.model_dump_json(exclude_none=True))


class PendingAuthorization:
    """One authorization waiting for a human to complete it (thread-safe)."""

    __slots__ = ("done", "error", "number", "result", "server", "url")

    def __init__(self, server: str, url: str, number: int) -> None:
        self.server = server
        self.url = url
        self.number = number
        self.done = threading.Event()
        self.result: tuple[str, str | None] | None = None
        self.error: str | None = None

    @property
    def id(self) -> str:
        return f"{OAUTH_DIALOG}_{self.server}_{self.number}"

    def to_human_request(self) -> HumanInLoopRequest:
        option = DialogOption(
            id=OAUTH_DIALOG,
            title=f"Sign in to {self.server}",
            description=f"The MCP server {self.server!r} needs you to sign in (OAuth).",
            parameters={"server": self.server, "authorization_url": self.url},
            provides=["callback_url"],
        )
        return HumanInLoopRequest(
            id=self.id,
            interaction_type=HumanInteractionType.DIALOG_OPTION,
            prompt=f"Sign in to the MCP server {self.server!r}",
            dialog_option_id=option.id,
            dialog_options=[option],
            context="Open authorization_url; answer with additional_context "
            "'callback_url:<the URL you were redirected to>' (or decision='cancel').",
        )


def callback_result(value: Any) -> tuple[str, str | None]:
    """The ``code`` and ``state`` of what completes an authorization: the redirect (callback)
    URL, a ``(code, state)`` pair or a mapping with ``code`` and ``state``.

    Raises ``ValueError`` when there is no code (an ``error=`` redirect says why).
    """
    if isinstance(value, tuple) and len(value) == 2:
        code, state = value
    elif isinstance(value, Mapping):
        code, state = value.get("code"), value.get("state")
    elif isinstance(value, str):
        if len(value) > _MAX_CALLBACK:
            raise ValueError("the callback URL is too long")
        query = parse_qs(urlsplit(value.strip()).query)
        if "error" in query:
            detail = query.get("error_description", query["error"])[0]
            raise ValueError(
                f"the authorization server refused: {query['error'][0]}: {detail}"[:300]
            )
        code = query["code"][0] if query.get("code") else None
        state = query["state"][0] if query.get("state") else None
    else:
        raise ValueError(
            "complete the authorization with the callback URL, (code, state) or "
            f"{{'code': ..., 'state': ...}}, not {type(value).__name__}"
        )
    if not isinstance(code, str) or not code:
        raise ValueError("the callback has no authorization code")
    if state is not None and not isinstance(state, str):
        raise ValueError("the callback's state must be a string")
    return code, state


class MCPOAuth:
    """OAuth 2.1 for one remote MCP server (``register_mcp_server(..., auth=...)``).

    Args:
        storage: Where tokens and the registered client are kept (the SDK's
            ``TokenStorage`` protocol): :class:`InMemoryTokenStorage` by default,
            :class:`FileTokenStorage` to keep them across runs.
        authorize: Completes the authorization step: called (sync or async) with the
            authorization URL, it returns the URL the browser was redirected to (or
            ``(code, state)``); ``None`` from it, or no ``authorize``, leaves the step to
            :meth:`complete` (a pending request until then).
        redirect_uri: The client's registered redirect URI (where your callback lives).
        client_name: The name dynamic client registration gives the client.
        scope: The scopes to ask for (default: what the server says it needs).
        authorization_timeout: Seconds the authorization step may wait for a human; past
            it registration (or the call) fails with :class:`~mbxai.MCPAuthError`.
        client_metadata: More OAuth client metadata for registration (RFC 7591 fields).
    """

    def __init__(
        self,
        *,
        storage: Any = None,
        authorize: Callable[[str], Any] | None = None,
        redirect_uri: str = "http://127.0.0.1:33418/callback",
        client_name: str = "mbxai",
        scope: str | None = None,
        authorization_timeout: float = 300.0,
        client_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        storage = InMemoryTokenStorage() if storage is None else storage
        for method in ("get_tokens", "set_tokens", "get_client_info", "set_client_info"):
            if not callable(getattr(storage, method, None)):
                raise ConfigurationError(
                    f"MCPOAuth storage must implement the SDK's TokenStorage protocol "
                    f"({method} is missing on {type(storage).__name__})"
                )
        if authorize is not None and not callable(authorize):
            raise ConfigurationError(
                f"MCPOAuth authorize must be a callable, got {type(authorize).__name__}"
            )
        if not isinstance(redirect_uri, str) or urlsplit(redirect_uri).scheme not in (
            "http",
            "https",
        ):
            raise ConfigurationError(
                f"MCPOAuth redirect_uri must be an http(s) URL, got {redirect_uri!r}"
            )
        if not isinstance(client_name, str) or not client_name.strip():
            raise ConfigurationError("MCPOAuth client_name must be a non-empty string")
        if scope is not None and (not isinstance(scope, str) or not scope.strip()):
            raise ConfigurationError(f"MCPOAuth scope must be a non-empty string, got {scope!r}")
        if (
            isinstance(authorization_timeout, bool)
            or not isinstance(authorization_timeout, int | float)
            or not 0 < authorization_timeout < math.inf
        ):
            raise ConfigurationError(
                "MCPOAuth authorization_timeout must be a positive number of seconds, got "
                f"{authorization_timeout!r}"
            )
        if client_metadata is not None and not isinstance(client_metadata, Mapping):
            raise ConfigurationError("MCPOAuth client_metadata must be a mapping")
        self.storage = storage
        self.authorize = authorize
        self.redirect_uri = redirect_uri
        self.client_name = client_name
        self.scope = scope
        self.authorization_timeout = float(authorization_timeout)
        self.client_metadata = dict(client_metadata or {})
        #: Authorizations started so far (each asks a human, or ``authorize``).
        self.authorizations = 0
        self._server: str | None = None
        self._pending: PendingAuthorization | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"MCPOAuth(server={self._server!r}, storage={self.storage!r}, "
            f"pending={self.pending_url is not None})"
        )

    def bind(self, server: str) -> None:
        """Tie this to one server (tokens are a server's own)."""
        with self._lock:
            if self._server not in (None, server):
                raise ConfigurationError(
                    f"this MCPOAuth serves MCP server {self._server!r}; give {server!r} one of its own"
                )
            self._server = server

    def client_metadata_fields(self) -> dict[str, Any]:
        """The OAuth client metadata to register with (``OAuthClientMetadata`` fields)."""
        fields: dict[str, Any] = {
            "client_name": self.client_name,
            "redirect_uris": [self.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        if self.scope is not None:
            fields["scope"] = self.scope
        fields.update(self.client_metadata)
        return fields

    # -- the authorization step ------------------------------------------------------------

    @property
    def pending_url(self) -> str | None:
        """The authorization URL waiting for a human, if one is."""
        pending = self._pending
        return pending.url if pending is not None and not pending.done.is_set() else None

    def begin(self, url: str) -> PendingAuthorization:
        """Start waiting for the completion of the authorization at ``url``."""
        with self._lock:
            self.authorizations += 1
            if self._pending is not None:
                self._pending.error = "a new authorization replaced it"
                self._pending.done.set()
            pending = PendingAuthorization(self._server or "mcp", url, self.authorizations)
            self._pending = pending
            return pending

    def end(self, pending: PendingAuthorization) -> None:
        with self._lock:
            if self._pending is pending:
                self._pending = None

    def complete(
        self, callback: Any = None, *, code: str | None = None, state: str | None = None
    ) -> None:
        """Complete the pending authorization (from any thread): with the URL the browser
        was redirected to, or ``code=`` and ``state=``.

        Raises :class:`ConfigurationError` when nothing is pending or the callback carries
        no code.
        """
        given = (code, state) if code is not None else callback
        try:
            result = callback_result(given)
        except ValueError as exc:
            raise ConfigurationError(f"MCPOAuth.complete: {exc}") from None
        with self._lock:
            pending = self._pending
            if pending is None or pending.done.is_set():
                raise ConfigurationError("MCPOAuth.complete: no authorization is pending")
            register_secret(result[0])
            pending.result = result
            pending.done.set()

    def cancel(self, reason: str = "cancelled") -> None:
        """Give up the pending authorization (registration or the call fails)."""
        with self._lock:
            pending = self._pending
            if pending is not None and not pending.done.is_set():
                pending.error = reason
                pending.done.set()

    # -- for an agent -----------------------------------------------------------------------

    def pending_human_requests(self) -> list[HumanInLoopRequest]:
        pending = self._pending
        if pending is None or pending.done.is_set():
            return []
        return [pending.to_human_request()]

    def answer_human_request(self, response: HumanInLoopResponse) -> bool:
        pending = self._pending
        if pending is None or pending.done.is_set() or response.interaction_id != pending.id:
            return False
        if (response.decision or "").strip().lower() in ("cancel", "decline", "deny"):
            self.cancel("the human cancelled the authorization")
            return True
        text = (response.additional_context or response.answer or "").strip()
        key, sep, rest = text.partition(":")
        if sep and key.strip() in ("callback_url", "url") and rest.strip():
            text = rest.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict) and "callback_url" in data:
                text = str(data["callback_url"])
        try:
            self.complete(text)
        except ConfigurationError as exc:
            raise HumanResponseError(f"interaction {pending.id!r}: {exc}") from None
        return True
