# This file is generated from tests/_async/test_serve.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""``mbxai.serve``: the agent as an HTTP service, over a real uvicorn server on 127.0.0.1.

The seed's two-service flow (a UI service and an agent service passing ``agent_id``,
human requests and answers over HTTP) runs against ``create_app`` with no hand-written
agent service. Written once in tests/_async and generated for sync: each flavour puts its
own agent client behind the app and calls the app with its own httpx client.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field

from mbxai import (
    AgentClient,
    ConfigurationError,
    DialogOption,
    FileSessionHandler,
    OpenRouterClient,
    RedisSessionHandler,
    SQLSessionHandler,
    ToolClient,
)
from mbxai.serve import create_app
from mbxai.testing import Failure, FakeModel, Reply, call
from tests.support.asgi_server import running
from tests.support.event_loops import on_trio

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

PASSWORD = 'pa,ss:w"rd-7431'
TOKEN = "serve-test-token-0123456789"


class OrderInfo(BaseModel):
    id: str = Field(description="Order ID")
    order_number: str = Field(description="Order number")
    date: str = Field(description="Order date")


class Summary(BaseModel):
    summary: str


SHOP = DialogOption(
    id="shop_credentials",
    title="Shop Credentials",
    description="Provide shop login credentials",
    parameters={"shop_url": "https://shop.example.com"},
    provides=["username", "password"],
)


def task(tid: str, title: str, *, tools: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": tid,
        "title": title,
        "description": f"do {title}",
        "dependencies": [],
        "tools": tools or [],
        "estimated_complexity": 2,
        "human_interaction": None,
    }


def plan(*tasks: dict[str, Any]) -> Reply:
    analysis = {"goal": "find the order", "success_criteria": ["found"], "constraints": []}
    return Reply(
        content=json.dumps(
            {
                "requirement_analysis": {**analysis, "complexity_estimate": 2},
                "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
                "tasks": list(tasks),
            }
        )
    )


def outcome(result: str) -> Reply:
    return Reply(content=json.dumps({"status": "completed", "result": result, "question": None}))


def evaluation(final: dict[str, Any]) -> Reply:
    goal = {"goal_achieved": True, "completion_percentage": 100, "feedback": "ok"}
    return Reply(
        content=json.dumps(
            {
                "goal_evaluation": {**goal, "missing_elements": []},
                "final_response": final,
                "follow_up_tasks": [],
            }
        )
    )


LAST_ORDER = {"id": "ord_003", "order_number": "ORD-2024-003", "date": "2024-01-25"}


def shop_script() -> list[Any]:
    return [
        plan(task("t1", "list the orders", tools=["list_orders_from_shop"])),
        Reply(tool_calls=[call("list_orders_from_shop", shop_url="https://shop.example.com")]),
        outcome("the last order is ORD-2024-003"),
        evaluation(LAST_ORDER),
    ]


class Shop:
    """The seed's shop tool; records the credentials it was called with."""

    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []

    def list_orders_from_shop(self, shop_url: str, username: str, password: str) -> list[Any]:
        """Fetch orders from the shop using the user's credentials."""
        self.logins.append((username, password))
        if username == "demo" and password == PASSWORD:
            return [LAST_ORDER]
        return []


def shop_agent(fake: FakeModel, shop: Shop, store: Any = None) -> AgentClient:
    client = OpenRouterClient(
        token="test-token", transport=fake, max_retries=0, retry_initial_delay=0
    )
    agent = AgentClient(
        ToolClient(client),
        human_in_loop=True,
        dialog_options=[SHOP],
        session_handler=store,
        secret_key="serve-tests-key",
    )
    agent.register_tool(
        "list_orders_from_shop",
        "List orders from the online shop using the user's credentials",
        shop.list_orders_from_shop,
    )
    return agent


@pytest.fixture
def store(tmp_path: Path) -> FileSessionHandler:
    return FileSessionHandler(tmp_path / "sessions", fsync=False)


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def fake() -> FakeModel:
    return FakeModel(shop_script(), strict_script=True)


@pytest.fixture
def service(fake: FakeModel, shop: Shop, store: FileSessionHandler) -> Iterator[str]:
    app = create_app(shop_agent(fake, shop, store), [OrderInfo, Summary])
    with running(app) as url:
        yield url


def credentials(request_id: str, password: str = PASSWORD) -> dict[str, Any]:
    return {
        "answers": [
            {
                "interaction_id": request_id,
                "response_type": "dialog_option",
                "dialog_option_id": "shop_credentials",
                "values": {"username": "demo", "password": password},
            }
        ]
    }


def test_the_seed_two_service_flow_runs_against_the_app(
    service: str, shop: Shop, store: FileSessionHandler
) -> None:
    with httpx.Client(base_url=service, timeout=30) as http:
        started = http.post(
            "/api/runs",
            json={"prompt": "Give me my last order", "response_model": "OrderInfo"},
        )
        assert started.status_code == 200, started.text
        run = started.json()
        assert run["state"] == "waiting_for_human"
        assert run["needs_human_interaction"] is True
        assert run["response_model"] == "OrderInfo"
        (request,) = run["human_interaction_requests"]
        assert request["interaction_type"] == "dialog_option"
        assert request["dialog_option_id"] == "shop_credentials"
        assert request["parameters"] == {"shop_url": "https://shop.example.com"}
        assert request["dialog_option"]["provides"] == ["username", "password"]
        assert shop.logins == []

        read = http.get(f"/api/runs/{run['agent_id']}")
        assert read.json()["human_interaction_requests"][0]["id"] == request["id"]

        done = http.post(f"/api/runs/{run['agent_id']}/answers", json=credentials(request["id"]))
        assert done.status_code == 200, done.text
        final = done.json()
        assert final["state"] == "completed"
        assert final["is_complete"] is True
        assert final["final_response"] == LAST_ORDER
        assert shop.logins == [("demo", PASSWORD)]  # the password reached the tool whole

        again = http.get(f"/api/runs/{run['agent_id']}")
        assert again.json()["final_response"] == LAST_ORDER
        listed = http.get("/api/runs")
        assert listed.json() == {"runs": [run["agent_id"]]}

        # the secret was accepted on the answer endpoint only and never came back
        for body in (started.text, read.text, done.text, again.text):
            assert PASSWORD not in body
            assert "pa,ss" not in body
        record = store.get_session(run["agent_id"])
        assert "pa,ss" not in json.dumps(record)

        deleted = http.delete(f"/api/runs/{run['agent_id']}")
        assert deleted.status_code == 204
        gone = http.get(f"/api/runs/{run['agent_id']}")
        assert gone.status_code == 404
        assert gone.json()["error"] == "SessionNotFoundError"


def test_errors_are_json_with_the_typed_error_name(service: str) -> None:
    with httpx.Client(base_url=service, timeout=30) as http:
        unknown = http.post("/api/runs", json={"prompt": "x", "response_model": "Nope"})
        assert unknown.status_code == 422
        assert unknown.json()["error"] == "ConfigurationError"
        assert "OrderInfo" in unknown.json()["message"]

        missing = http.post("/api/runs/no-such-run/answers", json=credentials("hitl_x"))
        assert missing.status_code == 404
        assert missing.json()["error"] == "SessionNotFoundError"

        # a malformed answer is refused without echoing what it carried
        bad = http.post(
            "/api/runs/any/answers",
            json={
                "answers": [
                    {
                        "interaction_id": "x",
                        "response_type": "nope",
                        "values": {"password": PASSWORD},
                    }
                ]
            },
        )
        assert bad.status_code == 422
        assert bad.json()["error"] == "RequestValidationError"
        assert "response_type" in bad.json()["message"]
        assert PASSWORD not in bad.text

        huge = http.post(
            "/api/runs",
            content=b'{"prompt": "' + b"x" * (2 << 20) + b'", "response_model": "OrderInfo"}',
            headers={"Content-Type": "application/json"},
        )
        assert huge.status_code == 413
        assert huge.json()["error"] == "RequestTooLarge"

        schema = http.get("/openapi.json")
        paths = schema.json()["paths"]
        assert {"/api/runs", "/api/runs/{agent_id}", "/api/runs/{agent_id}/answers"} <= set(paths)
        models = http.get("/api/models")
        assert models.json()["models"] == ["OrderInfo", "Summary"]


def test_a_wrong_answer_is_refused_and_the_run_keeps_waiting(service: str) -> None:
    with httpx.Client(base_url=service, timeout=30) as http:
        run = (
            http.post("/api/runs", json={"prompt": "Last order", "response_model": "OrderInfo"})
        ).json()
        wrong = http.post(f"/api/runs/{run['agent_id']}/answers", json=credentials("hitl_nope"))
        assert wrong.status_code == 422
        assert wrong.json()["error"] == "HumanResponseError"
        still = (http.get(f"/api/runs/{run['agent_id']}")).json()
        assert still["state"] == "waiting_for_human"


def test_the_bearer_token_guards_the_api(
    fake: FakeModel, shop: Shop, store: FileSessionHandler
) -> None:
    app = create_app(shop_agent(fake, shop, store), [OrderInfo], token=TOKEN)
    with running(app) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                refused = http.get("/api/runs", headers=headers)
                assert refused.status_code == 401
                assert refused.json()["error"] == "Unauthorized"
                assert refused.headers["www-authenticate"] == "Bearer"
            allowed = http.get("/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
            assert allowed.status_code == 200
            page = http.get("/")  # the console itself is public; it asks for the token
            assert page.status_code == 200
            assert "mbxai agent console" in page.text
    with pytest.raises(ConfigurationError, match="token"):
        create_app(shop_agent(fake, shop, store), [OrderInfo], token="short")
    with pytest.raises(ConfigurationError, match="empty"):
        create_app(shop_agent(fake, shop, store), [])


def test_two_replicas_on_one_store_serve_one_run(shop: Shop, store: FileSessionHandler) -> None:
    fake = FakeModel(shop_script(), strict_script=True)
    first = create_app(shop_agent(fake, shop, store), [OrderInfo])
    second = create_app(shop_agent(fake, shop, store), [OrderInfo])
    with running(first) as one, running(second) as two:
        with httpx.Client(timeout=30) as http:
            run = (
                http.post(
                    f"{one}/api/runs", json={"prompt": "Last order", "response_model": "OrderInfo"}
                )
            ).json()
            request = run["human_interaction_requests"][0]
            done = http.post(
                f"{two}/api/runs/{run['agent_id']}/answers", json=credentials(request["id"])
            )
            assert done.json()["state"] == "completed", done.text
            seen = http.get(f"{one}/api/runs/{run['agent_id']}")
            assert seen.json()["final_response"] == LAST_ORDER
            # answering a request that was already answered is refused on either replica
            late = http.post(
                f"{one}/api/runs/{run['agent_id']}/answers", json=credentials(request["id"])
            )
            assert late.status_code == 422
    assert shop.logins == [("demo", PASSWORD)]  # the tool ran once


def test_a_tool_approval_through_the_api(store: FileSessionHandler) -> None:
    payments: list[int] = []

    def pay(amount: int) -> str:
        """Pay an invoice."""
        payments.append(amount)
        return "paid"

    fake = FakeModel(
        [
            plan(task("t1", "pay", tools=["pay"])),
            Reply(tool_calls=[call("pay", amount=12)]),
            outcome("paid 12"),
            evaluation({"summary": "paid"}),
        ],
        strict_script=True,
    )
    client = OpenRouterClient(token="t", transport=fake, max_retries=0)
    agent = AgentClient(ToolClient(client), human_in_loop=True, session_handler=store)
    agent.register_tool("pay", "Pay an invoice", pay, requires_approval=True)
    with running(create_app(agent, {"Summary": Summary})) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            run = (
                http.post("/api/runs", json={"prompt": "Pay it", "response_model": "Summary"})
            ).json()
            (request,) = run["human_interaction_requests"]
            assert request["interaction_type"] == "tool_approval"
            assert request["tool"] == "pay"
            assert request["arguments"] == {"amount": 12}
            assert payments == []
            answer = {
                "interaction_id": request["id"],
                "response_type": "tool_approval",
                "decision": "approve",
            }
            done = http.post(f"/api/runs/{run['agent_id']}/answers", json={"answers": [answer]})
            assert done.json()["final_response"] == {"summary": "paid"}, done.text
    assert payments == [12]


def events_of(body: str) -> list[tuple[str, dict[str, Any]]]:
    """Server-Sent Events as (event, data) pairs."""
    found = []
    for block in body.split("\n\n"):
        lines = block.splitlines()
        kind = next((line[7:] for line in lines if line.startswith("event: ")), None)
        data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
        if kind is not None:
            found.append((kind, json.loads(data)))
    return found


SSE = {"Accept": "text/event-stream"}


def test_a_run_streams_its_events_as_server_sent_events(service: str, shop: Shop) -> None:
    with httpx.Client(base_url=service, timeout=30) as http:
        started = http.post(
            "/api/runs",
            json={"prompt": "Give me my last order", "response_model": "OrderInfo"},
            headers=SSE,
        )
        assert started.headers["content-type"].startswith("text/event-stream")
        first = events_of(started.text)
        kinds = [kind for kind, _ in first]
        assert kinds[0] == "run_started"
        assert ("step_started", "planning") in [(k, d.get("step")) for k, d in first]
        assert "text_delta" in kinds  # the plan's text as it was generated
        assert kinds[-2:] == ["human_request", "run"]  # the run's view closes the stream
        run = first[-1][1]
        assert run["state"] == "waiting_for_human"
        request = run["human_interaction_requests"][0]

        resumed = http.post(
            f"/api/runs/{run['agent_id']}/answers", json=credentials(request["id"]), headers=SSE
        )
        second = events_of(resumed.text)
        kinds = [kind for kind, _ in second]
        assert "tool_call" in kinds
        assert "tool_result" in kinds
        (call_event,) = [d for k, d in second if k == "tool_call"]
        assert call_event["tool"] == "list_orders_from_shop"
        partial = [
            d["object"] for k, d in second if k == "partial_object" and d["step"] == "evaluation"
        ]
        assert len(partial) > 1  # the final response, built up field by field
        assert partial[-1] == LAST_ORDER
        assert second[-1] == ("run", {**second[-1][1], "state": "completed"})
        assert second[-1][1]["final_response"] == LAST_ORDER
        assert PASSWORD not in started.text + resumed.text
        assert "pa,ss" not in resumed.text
    assert shop.logins == [("demo", PASSWORD)]


def test_a_stream_that_fails_ends_with_an_error_event_and_stays_resumable(
    shop: Shop, store: FileSessionHandler
) -> None:
    fake = FakeModel(
        [*shop_script()[:1], Failure(400, "the model endpoint refused")], strict_script=True
    )
    app = create_app(shop_agent(fake, shop, store), [OrderInfo])
    with running(app) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            run = (
                http.post("/api/runs", json={"prompt": "Last order", "response_model": "OrderInfo"})
            ).json()
            request = run["human_interaction_requests"][0]
            failed = http.post(
                f"/api/runs/{run['agent_id']}/answers",
                json=credentials(request["id"]),
                headers=SSE,
            )
            kind, error = events_of(failed.text)[-1]
            assert kind == "error"
            assert error["error"] == "BadRequestError"
            assert PASSWORD not in failed.text
            fake.add(*shop_script()[1:])
            # the answer was saved before the failure: the run resumes where it stopped
            done = http.post(f"/api/runs/{run['agent_id']}/continue", json={"prompt": "go"})
            assert done.json()["final_response"] == LAST_ORDER, done.text
    assert shop.logins == [("demo", PASSWORD)]


def test_the_token_holds_where_the_app_is_mounted(
    fake: FakeModel, shop: Shop, store: FileSessionHandler
) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    inner = create_app(shop_agent(fake, shop, store), [OrderInfo], token=TOKEN)
    outer = Starlette(routes=[Mount("/agent", app=inner)])
    with running(outer) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            assert (http.get("/agent/api/runs")).status_code == 401
            assert (
                http.post("/agent/api/runs", json={"prompt": "x", "response_model": "OrderInfo"})
            ).status_code == 401
            allowed = http.get("/agent/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
            assert allowed.json() == {"runs": []}
            page = http.get("/agent/")
            assert '<base href="/agent/">' in page.text  # the console calls the mounted API
            schema = (http.get("/agent/openapi.json")).json()
            assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_hostile_requests_get_typed_refusals(service: str, shop: Shop) -> None:
    with httpx.Client(base_url=service, timeout=30) as http:
        run = (
            http.post("/api/runs", json={"prompt": "Last order", "response_model": "OrderInfo"})
        ).json()
        request = run["human_interaction_requests"][0]
        # values belong to a dialog option: on another answer they would reach the model
        wrong_kind = {
            "interaction_id": request["id"],
            "response_type": "question",
            "answer": "x",
            "values": {"password": PASSWORD},
        }
        refused = http.post(f"/api/runs/{run['agent_id']}/answers", json={"answers": [wrong_kind]})
        assert refused.status_code == 422
        assert "dialog_option" in refused.json()["message"]
        assert PASSWORD not in refused.text

        def chunks() -> Iterator[bytes]:
            yield b'{"prompt": "'
            for _ in range(40):
                yield b"x" * 65536
            yield b'", "response_model": "OrderInfo"}'

        chunked = http.post(
            "/api/runs", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert chunked.status_code == 413
        assert chunked.json()["error"] == "RequestTooLarge"

        nowhere = http.get("/api/nowhere")
        assert nowhere.status_code == 404
        assert nowhere.json()["error"] == "NotFound"

        # a refusal of the answers is a status, also when events were asked for
        streamed = http.post(
            f"/api/runs/{run['agent_id']}/answers",
            json=credentials("hitl_nope"),
            headers={"Accept": "TEXT/Event-Stream"},
        )
        assert streamed.status_code == 422
        assert streamed.json()["error"] == "HumanResponseError"
        plain = http.get(
            f"/api/runs/{run['agent_id']}", headers={"Accept": "text/event-stream;q=0, */*"}
        )
        assert plain.headers["content-type"].startswith("application/json")
    assert shop.logins == []


class BrokenStore:
    """A session store whose driver fails with a message quoting its URL and password."""

    def get_session(self, agent_id: str) -> None:
        raise ConnectionError("redis://:hunter2@10.0.0.5:6379 refused")

    def set_session(self, agent_id: str, data: dict[str, Any]) -> None:
        raise ConnectionError("redis://:hunter2@10.0.0.5:6379 refused")

    def delete_session(self, agent_id: str) -> bool:
        raise ConnectionError("redis://:hunter2@10.0.0.5:6379 refused")

    def list_sessions(self) -> list[str]:
        raise ConnectionError("redis://:hunter2@10.0.0.5:6379 refused")

    def session_exists(self, agent_id: str) -> bool:
        raise ConnectionError("redis://:hunter2@10.0.0.5:6379 refused")


def test_a_server_failure_names_its_type_and_tells_nothing_more(
    fake: FakeModel, shop: Shop
) -> None:
    with running(create_app(shop_agent(fake, shop, BrokenStore()), [OrderInfo])) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            for response in (
                http.get("/api/runs"),
                http.post("/api/runs", json={"prompt": "x", "response_model": "OrderInfo"}),
            ):
                assert response.status_code == 500
                assert response.json()["error"] == "SessionStoreError"
                assert "hunter2" not in response.text


@pytest.mark.parametrize("kind", ["redis", "sql-postgres"])
def test_replicas_behind_one_url_share_a_redis_or_sql_store(
    kind: str, request: pytest.FixtureRequest, shop: Shop
) -> None:
    """Each replica has its own agent and its own connection to one real Redis or
    PostgreSQL, as replicas in separate containers would."""
    if kind == "sql-postgres" and on_trio():
        # the store is built here, on the test's loop: SQLAlchemy's asyncio engine needs asyncio
        pytest.skip("SQLAlchemy's asyncio extension runs on asyncio only")
    url = request.getfixturevalue("redis_url" if kind == "redis" else "postgres_url")
    name = f"serve{uuid.uuid4().hex[:10]}"

    def store() -> Any:
        if kind == "redis":
            return RedisSessionHandler(url, prefix=f"{name}:")
        return SQLSessionHandler(url, table=name)

    fake = FakeModel(shop_script(), strict_script=True)
    replicas = [create_app(shop_agent(fake, shop, store()), [OrderInfo]) for _ in range(2)]
    with running(replicas[0]) as one, running(replicas[1]) as two:
        with httpx.Client(timeout=30) as http:
            run = (
                http.post(
                    f"{one}/api/runs", json={"prompt": "Last order", "response_model": "OrderInfo"}
                )
            ).json()
            assert run["state"] == "waiting_for_human", run
            listed = (http.get(f"{two}/api/runs")).json()["runs"]
            assert run["agent_id"] in listed
            request_id = run["human_interaction_requests"][0]["id"]
            done = http.post(
                f"{two}/api/runs/{run['agent_id']}/answers", json=credentials(request_id)
            )
            assert done.json()["final_response"] == LAST_ORDER, done.text
            seen = (http.get(f"{one}/api/runs/{run['agent_id']}")).json()
            assert seen["state"] == "completed"
            assert (http.delete(f"{one}/api/runs/{run['agent_id']}")).status_code == 204
            assert (http.get(f"{two}/api/runs/{run['agent_id']}")).status_code == 404
    assert shop.logins == [("demo", PASSWORD)]
