# This file is generated from tests/_async/test_mcp_features.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""MCP beyond tools, against real servers the tests start, written once (async) and
generated for sync: resources and prompts, sampling, elicitation, roots, OAuth, and the
bounds a hostile server meets.

The servers: our ``MCPServer`` (``tests.fix_mcp.interactive_server``, over HTTP and
stdio), the SDK's own high-level server (``tests.fix_mcp_sdk``, stdio), ``mcp-server-fetch``
from PyPI (stdio) and an OAuth-protected server on the SDK's authorization server
(``tests.fix_mcp_oauth``). The model and the sampling model are
:class:`mbxai.testing.FakeModel`.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mbxai import (
    ConfigurationError,
    ElicitationAnswer,
    ElicitationRequest,
    FileTokenStorage,
    HumanElicitation,
    HumanInLoopResponse,
    HumanInteractionType,
    HumanResponseError,
    MCPAuthError,
    MCPClient,
    MCPOAuth,
    MCPRequestError,
    MCPResponseTooLargeError,
    MCPSampling,
    OpenRouterClient,
    UsageLimits,
)
from mbxai._concurrency import sleep
from mbxai.mcp_server import RunningMCPServer
from mbxai.testing import FakeModel, Reply, call
from tests.fix_mcp import ROOT, interactive_server
from tests.fix_mcp_oauth import OAuthProvider, follow_redirect, oauth_server

mcp = pytest.importorskip("mcp")

ASK = [{"role": "user", "content": "Use the tools."}]


def make(fake: FakeModel) -> MCPClient:
    return MCPClient(OpenRouterClient(token="test-key", transport=fake, max_retries=0))


def sampler(answers: list[str]) -> tuple[OpenRouterClient, FakeModel]:
    fake = FakeModel(answers)
    return OpenRouterClient(token="sampling-key", transport=fake, max_retries=0), fake


def tool_results(fake: FakeModel, request: int = -1) -> list[str]:
    return [m["content"] for m in fake.requests[request].messages if m["role"] == "tool"]


def interactive_stdio() -> Any:
    return mcp.StdioServerParameters(
        command=sys.executable,
        args=["-m", "tests.fix_mcp", "stdio-interactive"],
        cwd=str(ROOT),
    )


def sdk_stdio() -> Any:
    return mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "tests.fix_mcp_sdk"], cwd=str(ROOT)
    )


def file_uri(path: Path) -> str:
    return path.resolve().as_uri()


def stored_keys(path: Path) -> tuple[int, set[str]]:
    """A token file's permissions and the keys it holds."""
    return path.stat().st_mode & 0o777, set(json.loads(path.read_text()))


@pytest.fixture(scope="module")
def interactive() -> Iterator[RunningMCPServer]:
    with interactive_server().serve_http() as running:
        yield running


@pytest.fixture(scope="module")
def web_page() -> Iterator[str]:
    """A page on 127.0.0.1 for mcp-server-fetch's prompt to fetch."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body><h1>Loopback page</h1><p>Served by the test.</p></body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/page"
    server.shutdown()
    server.server_close()


# -- resources and prompts ----------------------------------------------------------------


def test_resources_templates_and_prompts_of_our_server(
    interactive: RunningMCPServer,
) -> None:
    with make(FakeModel()) as client:
        client.register_mcp_server("i", interactive.url, timeout=10)
        resources = client.list_resources("i")
        templates = client.list_resource_templates("i")
        today = client.read_resource("i", "notes://today")
        paris = client.read_resource("i", "city://Paris")
        logo = client.read_resource("i", "logo://png")
        prompts = client.list_prompts("i")
        messages = client.prompt_messages("i", "review", {"code": "x = 1"})
        with pytest.raises(MCPRequestError, match="Resource not found"):
            client.read_resource("i", "notes://nothing")
        with pytest.raises(MCPRequestError, match="Unknown prompt"):
            client.get_prompt("i", "nothing")
        with pytest.raises(ConfigurationError, match="no MCP server named 'other'"):
            client.list_resources("other")

    assert {r.uri: r.description for r in resources} == {
        "notes://today": "Today's notes.",
        "logo://png": "A tiny image.",
    }
    assert sorted(t.uri_template for t in templates) == ["city://{name}", "huge://{megabytes}"]
    assert today.contents[0].text == "buy milk; call Ann"
    assert json.loads(paris.contents[0].text) == {"city": "Paris", "country": "France"}
    assert logo.contents[0].mime_type == "image/png"
    (review,) = prompts
    assert [(a.name, a.required, a.description) for a in review.arguments] == [
        ("code", True, "The code to review"),
        ("style", False, "brief or thorough"),
    ]
    assert messages == [
        {"role": "user", "content": "Review this code (brief):\nx = 1"},
        {"role": "assistant", "content": "Sure, here is my review."},
    ]


def test_the_model_reads_resources_through_the_resource_tool(
    interactive: RunningMCPServer,
) -> None:
    fake = FakeModel([Reply(tool_calls=[call("i__read_resource", uri="notes://today")]), "Milk."])
    with make(fake) as client:
        names = client.register_mcp_server(
            "i", interactive.url, timeout=10, resources_tool=True, allow=["roots"]
        )
        assert names == ["roots", "i__read_resource"]
        description = client.tools["i__read_resource"].description
        response = client.chat(ASK)
        client.unregister_mcp_server("i")
        assert "i__read_resource" not in client.tools

    assert "notes://today: Today's notes." in description
    assert response.content == "Milk."
    assert tool_results(fake) == ["buy milk; call Ann"]


def test_resources_and_prompts_of_third_party_servers(web_page: str) -> None:
    with make(FakeModel()) as client:
        client.register_mcp_server("sdk", sdk_stdio(), timeout=30)
        resources = client.list_resources("sdk")
        templates = client.list_resource_templates("sdk")
        profile = client.read_resource("sdk", "users://42/profile")
        summary = client.prompt_messages("sdk", "summarize", {"text": "long text"})
        # mcp-server-fetch from PyPI: its prompt fetches a page (here one on 127.0.0.1).
        client.register_mcp_server(
            "fetch", [sys.executable, "-m", "mcp_server_fetch", "--allow-private-ips"], timeout=30
        )
        fetch_prompts = client.list_prompts("fetch")
        fetched = client.prompt_messages("fetch", "fetch", {"url": web_page})

    assert [r.uri for r in resources] == ["docs://readme"]
    assert [t.uri_template for t in templates] == ["users://{user_id}/profile"]
    assert profile.contents[0].text == "profile of 42"
    assert summary == [{"role": "user", "content": "Summarize: long text"}]
    assert [p.name for p in fetch_prompts] == ["fetch"]
    assert "Loopback page" in fetched[0]["content"]


# -- sampling ---------------------------------------------------------------------------------


def test_sampling_is_answered_by_the_users_client_within_its_limit(
    interactive: RunningMCPServer,
) -> None:
    sampling_client, sampling_fake = sampler(["Paris"] * 20)
    policy = MCPSampling(sampling_client, usage_limits=UsageLimits(max_requests=3), max_tokens=30)
    fake = FakeModel(
        [
            Reply(tool_calls=[call("ask_model", question="Capital of France?", max_tokens=500)]),
            "Paris it is.",
            Reply(tool_calls=[call("ask_model_often", times=12)]),
            "Enough.",
        ]
    )
    with make(fake) as client:
        client.register_mcp_server("i", interactive.url, timeout=10, sampling=policy)
        client.chat(ASK)
        first = tool_results(fake)
        client.chat(ASK)  # a flood: 12 requests at once, 2 left under the limit
        flood = json.loads(tool_results(fake)[0])["result"]

    assert first == ["openai/gpt-4o-mini: Paris"]
    sent = sampling_fake.requests[0]
    assert sent.messages == [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert sent.json["max_tokens"] == 30  # the server asked for 500
    assert flood.count("answered: Paris") == 2
    assert sum("sampling limit for this server is reached" in r for r in flood) == 10
    assert len(sampling_fake.requests) == 3  # nothing past the limit was sent
    assert policy.spent.requests == 3
    assert policy.refused == 10


def test_without_sampling_the_servers_requests_are_refused(
    interactive: RunningMCPServer,
) -> None:
    fake = FakeModel([Reply(tool_calls=[call("ask_model", question="hi")]), "ok"])
    with make(fake) as client:
        client.register_mcp_server("i", interactive.url, timeout=10)
        client.chat(ASK)
    assert "Sampling not supported" in tool_results(fake)[0]


def test_sampling_for_a_third_party_server_over_stdio() -> None:
    sampling_client, _ = sampler(["Hello there"])
    fake = FakeModel([Reply(tool_calls=[call("sdk_ask_model", question="Greet me")]), "ok"])
    with make(fake) as client:
        client.register_mcp_server(
            "sdk", sdk_stdio(), timeout=30, sampling=MCPSampling(sampling_client)
        )
        client.chat(ASK)
    assert tool_results(fake) == ['{"result":"Hello there"}']


def test_sampling_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="chat client"):
        MCPSampling(object())
    client, _ = sampler([])
    with pytest.raises(ConfigurationError, match="must bound something"):
        MCPSampling(client, usage_limits=UsageLimits())
    with pytest.raises(ConfigurationError, match="max_tokens"):
        MCPSampling(client, max_tokens=0)


# -- elicitation ------------------------------------------------------------------------------


def test_an_elicitation_is_answered_by_the_clients_callback(
    interactive: RunningMCPServer,
) -> None:
    asked: list[ElicitationRequest] = []

    def elicit(request: ElicitationRequest) -> Any:
        asked.append(request)
        if request.mode == "url":
            return ElicitationAnswer.decline()
        return {"name": "Ann", "age": "42", "subscribe": "yes"}  # text, as a form gives it

    fake = FakeModel(
        [
            Reply(
                tool_calls=[
                    call("ask_user", question="Who are you?"),
                    call("open_link", url="https://example.com/sign"),
                ]
            ),
            "ok",
        ]
    )
    with make(fake) as client:
        client.register_mcp_server("i", interactive.url, timeout=10, elicitation=elicit)
        client.chat(ASK)

    form, link = sorted(asked, key=lambda r: r.mode)
    assert (form.server, form.message, sorted(form.fields), form.required) == (
        "i",
        "Who are you?",
        ["age", "name", "subscribe"],
        ["name"],
    )
    assert link.url == "https://example.com/sign"
    assert sorted(tool_results(fake)) == [
        "decline",
        '{"action":"accept","content":{"name":"Ann","age":42,"subscribe":true}}',
    ]


def test_an_answer_that_does_not_fit_the_form_is_a_cancel(
    interactive: RunningMCPServer,
) -> None:
    fake = FakeModel([Reply(tool_calls=[call("ask_user", question="Age?")]), "ok"])
    with make(fake) as client:
        client.register_mcp_server(
            "i", interactive.url, timeout=10, elicitation=lambda request: {"age": "old"}
        )
        client.chat(ASK)
    assert tool_results(fake) == ['{"action":"cancel","content":null}']


def test_an_elicitation_nobody_answers_is_cancelled_in_bounded_time(
    interactive: RunningMCPServer,
) -> None:
    def never(request: ElicitationRequest) -> Any:
        time.sleep(30)  # a UI that never answers

    fake = FakeModel([Reply(tool_calls=[call("ask_user", question="Hello?")]), "ok"])
    with make(fake) as client:
        client.register_mcp_server(
            "i", interactive.url, timeout=10, elicitation=never, elicitation_timeout=1
        )
        started = time.monotonic()
        client.chat(ASK)
        elapsed = time.monotonic() - started
    assert tool_results(fake) == ['{"action":"cancel","content":null}']
    assert elapsed < 10


def test_elicitation_through_human_in_the_loop_requests(
    interactive: RunningMCPServer,
) -> None:
    human = HumanElicitation()
    fake = FakeModel(
        [
            Reply(tool_calls=[call("ask_user", question="Who are you?")]),
            "I asked.",
            Reply(tool_calls=[call("ask_user", question="Who are you?")]),
            "Thanks.",
        ]
    )
    with make(fake) as client:
        client.register_mcp_server("i", interactive.url, timeout=10, elicitation=human)
        client.chat(ASK)
        first = tool_results(fake)
        (request,) = client.pending_human_requests()
        assert request.interaction_type == HumanInteractionType.QUESTION
        assert "Who are you?" in request.prompt
        assert "- age (integer)" in request.context
        with pytest.raises(HumanResponseError, match="must be a number"):
            client.answer_human_request(
                HumanInLoopResponse(
                    interaction_id=request.id,
                    response_type=HumanInteractionType.QUESTION,
                    answer="name:Ann, age:old",
                )
            )
        assert client.answer_human_request(
            HumanInLoopResponse(
                interaction_id=request.id,
                response_type=HumanInteractionType.QUESTION,
                answer="name:Ann, age:42",
            )
        )
        assert client.pending_human_requests() == []
        client.chat(ASK)  # the retried call gets the answer at once
        second = tool_results(fake)

    assert first == ['{"action":"cancel","content":null}']
    assert second == ['{"action":"accept","content":{"name":"Ann","age":42}}']


def test_elicitation_for_a_third_party_server_over_stdio() -> None:
    fake = FakeModel([Reply(tool_calls=[call("sdk_ask_user")]), "ok"])
    with make(fake) as client:
        client.register_mcp_server(
            "sdk", sdk_stdio(), timeout=30, elicitation=lambda request: {"name": "Bo", "age": 7}
        )
        client.chat(ASK)
    assert tool_results(fake) == ['{"result":"added Bo (7)"}']


# -- roots ---------------------------------------------------------------------------------------


def test_roots_are_given_to_servers_that_ask(interactive: RunningMCPServer, tmp_path: Path) -> None:
    fake = FakeModel(
        [
            Reply(tool_calls=[call("roots"), call("sdk_roots")]),
            "ok",
            Reply(tool_calls=[call("roots")]),
            "ok",
        ]
    )
    with make(fake) as client:
        client.register_mcp_server(
            "i", interactive.url, timeout=10, roots=[tmp_path, (str(tmp_path / "data"), "data")]
        )
        client.register_mcp_server("sdk", sdk_stdio(), timeout=30, roots=[tmp_path])
        client.chat(ASK)
        given = tool_results(fake)
    uri = file_uri(tmp_path)
    assert given == [
        json.dumps({"result": [uri, f"{uri}/data data"]}, separators=(",", ":")),
        json.dumps({"result": [uri]}, separators=(",", ":")),
    ]


# -- a hostile server's large answers ----------------------------------------------------------


def test_a_100_mb_resource_is_refused_without_reading_it_all(
    interactive: RunningMCPServer,
) -> None:
    with make(FakeModel()) as client:
        client.register_mcp_server("i", interactive.url, timeout=30)
        started = time.monotonic()
        with pytest.raises(MCPResponseTooLargeError) as caught:
            client.read_resource("i", "huge://100")
        elapsed = time.monotonic() - started
        # the connection is still good for the next request
        assert (client.read_resource("i", "notes://today")).contents[0].text
    assert caught.value.limit == 16 * 1024 * 1024
    assert elapsed < 25


def test_a_resource_over_max_resource_bytes_is_refused_over_stdio() -> None:
    with make(FakeModel()) as client:
        client.register_mcp_server(
            "i", interactive_stdio(), timeout=30, max_resource_bytes=1024 * 1024
        )
        with pytest.raises(MCPResponseTooLargeError, match="max_resource_bytes=1048576"):
            client.read_resource("i", "huge://2")
        assert (client.read_resource("i", "notes://today")).contents[0].text


# -- OAuth ---------------------------------------------------------------------------------------


def test_oauth_authorizes_once_and_keeps_its_tokens_in_a_file(tmp_path: Path) -> None:
    provider = OAuthProvider()
    storage_path = tmp_path / "tokens.json"
    fake = FakeModel([Reply(tool_calls=[call("whoami")]), "ok"])
    with oauth_server(provider) as running:
        with make(fake) as client:
            oauth = MCPOAuth(storage=FileTokenStorage(storage_path), authorize=follow_redirect)
            names = client.register_mcp_server("secure", running.url, timeout=10, auth=oauth)
            client.chat(ASK)
        # A new client with the same store needs no authorization.
        with make(FakeModel()) as again:
            again.register_mcp_server(
                "secure",
                running.url,
                timeout=10,
                auth=MCPOAuth(storage=FileTokenStorage(storage_path)),
            )
    assert "whoami" in names
    assert provider.authorizations == 1
    seen = json.loads(tool_results(fake)[0])
    assert seen["authorization"] == "Bearer [hidden]"  # the model never sees the token
    assert stored_keys(storage_path) == (0o600, {"tokens", "client_info"})


def test_oauth_tokens_are_refreshed_when_they_expire() -> None:
    provider = OAuthProvider(access_ttl=1)
    fake = FakeModel([Reply(tool_calls=[call("echo", text="one")]), "ok"] * 2)
    with oauth_server(provider) as running:
        with make(fake) as client:
            client.register_mcp_server(
                "secure", running.url, timeout=10, auth=MCPOAuth(authorize=follow_redirect)
            )
            client.chat(ASK)
            sleep(1.5)
            client.chat(ASK)
    assert tool_results(fake) == ["one"]
    assert provider.refreshes >= 1
    assert provider.authorizations == 1


def test_junk_tokens_end_in_an_auth_error() -> None:
    provider = OAuthProvider()
    provider.junk_tokens = True
    with oauth_server(provider) as running:
        with make(FakeModel()) as client:
            with pytest.raises(MCPAuthError, match="Invalid token response"):
                client.register_mcp_server(
                    "secure", running.url, timeout=10, auth=MCPOAuth(authorize=follow_redirect)
                )
            assert client.mcp_servers == {}


def test_a_failing_refresh_nobody_reauthorizes_ends_in_bounded_time() -> None:
    provider = OAuthProvider(access_ttl=1)
    authorized: list[str] = []

    def authorize_once(url: str) -> str | None:
        authorized.append(url)
        return follow_redirect(url) if len(authorized) == 1 else None  # then: nobody

    fake = FakeModel([Reply(tool_calls=[call("echo", text="late")]), "ok"])
    oauth = MCPOAuth(authorize=authorize_once, authorization_timeout=60)
    with oauth_server(provider) as running:
        with make(fake) as client:
            client.register_mcp_server("secure", running.url, timeout=3, auth=oauth)
            provider.refuse_refresh = True
            sleep(1.5)
            started = time.monotonic()
            client.chat(ASK)
            elapsed = time.monotonic() - started
            pending = client.pending_human_requests()
            oauth.cancel()
    assert provider.refreshes >= 1
    assert len(authorized) == 2  # the failed refresh asked for a new authorization
    result = tool_results(fake)[0]
    assert "MCPAuthError" in result
    assert "waiting for OAuth authorization" in result
    assert elapsed < 15
    (request,) = pending
    assert request.dialog_option_id == "mcp_oauth"
    assert request.parameters["authorization_url"] == authorized[1]


def test_an_authorization_completed_through_a_human_request() -> None:
    provider = OAuthProvider()
    oauth = MCPOAuth(authorization_timeout=30)  # no authorize=: a human completes it

    def human() -> None:  # the UI: sees the request, "signs in", answers
        for _ in range(200):
            time.sleep(0.05)
            requests = oauth.pending_human_requests()
            if requests:
                (request,) = requests
                callback = follow_redirect(request.parameters["authorization_url"])
                oauth.answer_human_request(
                    HumanInLoopResponse(
                        interaction_id=request.id,
                        response_type=HumanInteractionType.DIALOG_OPTION,
                        dialog_option_id="mcp_oauth",
                        additional_context=f"callback_url:{callback}",
                    )
                )
                return

    with oauth_server(provider) as running:
        with make(FakeModel()) as client:
            thread = threading.Thread(target=human)
            thread.start()
            names = client.register_mcp_server("secure", running.url, timeout=5, auth=oauth)
            thread.join(10)
    assert "echo" in names
    assert provider.authorizations == 1


def test_an_authorization_nobody_completes_fails_registration_in_bounded_time() -> None:
    with oauth_server(OAuthProvider()) as running:
        with make(FakeModel()) as client:
            started = time.monotonic()
            with pytest.raises(MCPAuthError, match="not completed within 1 s"):
                client.register_mcp_server(
                    "secure",
                    running.url,
                    timeout=5,
                    auth=MCPOAuth(authorization_timeout=1),
                )
            assert time.monotonic() - started < 15


def test_oauth_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="TokenStorage"):
        MCPOAuth(storage=object())
    with pytest.raises(ConfigurationError, match="redirect_uri"):
        MCPOAuth(redirect_uri="myapp:/callback")
    with pytest.raises(ConfigurationError, match="no authorization is pending"):
        MCPOAuth().complete("http://127.0.0.1/callback?code=abc&state=x")
