"""An OAuth-protected MCP server on 127.0.0.1, for the OAuth tests (no fixture: each test
starts its own, to break it its own way).

:func:`oauth_server` serves :func:`tests.fix_mcp.demo_server`'s tools behind the SDK's
own authorization server (``mcp.server.auth``: protected resource metadata, authorization
server metadata, dynamic client registration, ``/authorize``, ``/token``) and its bearer
check. :class:`OAuthProvider` keeps clients, codes and tokens in memory and approves every
authorization at once (its ``/authorize`` redirects straight back with a code), so a test
completes the authorization step by following that redirect (:func:`follow_redirect`).
Switches make it hostile: ``junk_tokens`` (the token endpoint answers garbage),
``refuse_refresh`` (a refresh fails), ``access_ttl`` (tokens expire in seconds).
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from typing import Any

import httpx

from mbxai.mcp_server import RunningMCPServer
from tests.fix_mcp import demo_server

__all__ = ["OAuthProvider", "follow_redirect", "oauth_server"]


class OAuthProvider:
    """The SDK's ``OAuthAuthorizationServerProvider``, in memory, approving everyone."""

    def __init__(self, *, access_ttl: int = 3600) -> None:
        self.access_ttl = access_ttl
        self.junk_tokens = False
        self.refuse_refresh = False
        self.clients: dict[str, Any] = {}
        self.codes: dict[str, Any] = {}
        self.access: dict[str, Any] = {}
        self.refresh: dict[str, Any] = {}
        self.authorizations = 0
        self.refreshes = 0

    async def get_client(self, client_id: str) -> Any:
        return self.clients.get(client_id)

    async def register_client(self, client_info: Any) -> None:
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: Any, params: Any) -> str:
        from mcp.server.auth.provider import AuthorizationCode, construct_redirect_uri

        self.authorizations += 1
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or ["mcp"],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client: Any, authorization_code: str) -> Any:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(self, client: Any, authorization_code: Any) -> Any:
        self.codes.pop(authorization_code.code, None)
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(self, client: Any, refresh_token: str) -> Any:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(
        self, client: Any, refresh_token: Any, scopes: list[str]
    ) -> Any:
        from mcp.server.auth.provider import TokenError

        self.refreshes += 1
        if self.refuse_refresh:
            raise TokenError("invalid_grant", "this refresh token was revoked")
        self.refresh.pop(refresh_token.token, None)
        return self._issue(client.client_id, refresh_token.scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> Any:
        found = self.access.get(token)
        if found is None or (found.expires_at and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token: Any) -> None:
        self.access.pop(getattr(token, "token", ""), None)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> Any:
        from mcp.server.auth.provider import AccessToken, RefreshToken
        from mcp.shared.auth import OAuthToken

        access, refresh = f"at-{secrets.token_urlsafe(20)}", f"rt-{secrets.token_urlsafe(20)}"
        self.access[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            # A grace of 2 s past what the client is told: the client counts expires_in
            # from when it receives the token, so a loaded machine must not see the
            # server reject a token the client still holds valid (it would then sign in
            # again instead of refreshing).
            expires_at=int(time.time()) + self.access_ttl + 2,
            resource=resource,
        )
        self.refresh[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=scopes, resource=resource
        )
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=self.access_ttl,
            refresh_token=refresh,
            scope=" ".join(scopes),
        )


class _JunkTokens:
    """ASGI middleware: while the provider says so, ``/token`` answers garbage."""

    def __init__(self, app: Any, provider: OAuthProvider) -> None:
        self._app = app
        self._provider = provider

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope.get("type") == "http"
            and scope.get("path") == "/token"
            and self._provider.junk_tokens
        ):
            body = json.dumps({"access_token": 12345, "token_type": ["not", "a", "type"]}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self._app(scope, receive, send)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def oauth_server(provider: OAuthProvider, name: str = "secure") -> RunningMCPServer:
    """The demo server's tools behind OAuth, served on a free loopback port."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    def app() -> Any:
        from mcp.server.auth.provider import ProviderTokenVerifier
        from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions

        server = demo_server(name)
        lowlevel = server._lowlevel()
        asgi = lowlevel.streamable_http_app(
            streamable_http_path="/mcp",
            host="127.0.0.1",
            auth=AuthSettings(
                issuer_url=base,
                resource_server_url=f"{base}/mcp",
                client_registration_options=ClientRegistrationOptions(
                    enabled=True, valid_scopes=["mcp"], default_scopes=["mcp"]
                ),
                required_scopes=["mcp"],
                validate_token_resource=False,
            ),
            token_verifier=ProviderTokenVerifier(provider),
            auth_server_provider=provider,
        )
        return _JunkTokens(asgi, provider)

    return RunningMCPServer(app, "127.0.0.1", port, "/mcp")


def follow_redirect(url: str) -> str:
    """Complete an authorization as the user's browser would: open the authorization
    URL, and return where the server redirects to (the callback URL, code and state)."""
    with httpx.Client(timeout=10) as http:
        response = http.get(url, follow_redirects=False)
    assert response.status_code in (302, 303, 307), response.text
    return str(response.headers["location"])
