# This file is generated from examples/_async/two_services.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Two services: a UI backend and an agent service that talk over HTTP.

The user asks the UI for their last shop order. The agent plans, sees that its shop tool
needs credentials, and asks for the ``shop_credentials`` dialog option; the UI shows a
login form and sends the credentials back; the agent runs the tool with them (the model
never sees them) and answers with the order. The agent service is ``mbxai.serve``'s app,
not hand-written code: the seed's ``/agent`` endpoint becomes ``POST /api/runs`` and
``POST /api/runs/{agent_id}/answers``. Both services run here on free 127.0.0.1 ports; in
production they are separate containers (``python -m mbxai.serve module:agent`` for the
agent's). Needs ``mbxai[serve]``.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import httpx
from _setup import banner, chat_client, evaluation, outcome, plan, run, serve, task
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from mbxai import AgentClient, DialogOption, ToolClient
from mbxai.serve import create_app
from mbxai.testing import Reply, call

SHOP_URL = "https://shop.example.com"
#: What the UI service shows the agent service (from a secret store in production).
AGENT_TOKEN = os.environ.get("AGENT_SERVICE_TOKEN") or secrets.token_urlsafe(32)


# -- the agent service (container 2) -----------------------------------------------------


class OrderInfo(BaseModel):
    id: str = Field(description="Order ID")
    order_number: str = Field(description="Order number")
    date: str = Field(description="Order date")


def list_orders_from_shop(username: str, password: str, shop_url: str) -> list[dict[str, str]]:
    """Fetch orders from the shop, oldest first, using the user's credentials."""
    if (username, password) != ("demo", "demo123"):
        return []
    return [
        {"id": "ord_001", "order_number": "ORD-2024-001", "date": "2024-01-15"},
        {"id": "ord_002", "order_number": "ORD-2024-002", "date": "2024-01-20"},
        {"id": "ord_003", "order_number": "ORD-2024-003", "date": "2024-01-25"},
    ]


AGENT_OFFLINE_REPLIES = (
    plan(
        "Find the user's last order in the shop",
        task("t1", "List the shop's orders", tools=["list_orders_from_shop"]),
    ),
    Reply(tool_calls=[call("list_orders_from_shop", shop_url=SHOP_URL)]),
    outcome("The most recent order is ORD-2024-003 (ord_003) from 2024-01-25."),
    evaluation(OrderInfo(id="ord_003", order_number="ORD-2024-003", date="2024-01-25")),
)


def agent_service() -> FastAPI:
    agent = AgentClient(
        ToolClient(chat_client(*AGENT_OFFLINE_REPLIES)),
        human_in_loop=True,
        dialog_options=[
            DialogOption(
                id="shop_credentials",
                title="Shop Credentials",
                description="Provide shop login credentials",
                parameters={"shop_url": SHOP_URL},
                provides=["username", "password"],  # secrets: tools get them, the model not
            )
        ],
        secret_key=os.environ.get("MBXAI_SECRET_KEY") or secrets.token_urlsafe(32),
    )
    agent.register_tool(
        name="list_orders_from_shop",
        description="List orders from online shop using user credentials",
        function=list_orders_from_shop,
    )
    return create_app(agent, [OrderInfo], token=AGENT_TOKEN)


# -- the UI service (container 1) --------------------------------------------------------


class ChatMessage(BaseModel):
    message: str
    user_id: str


class CredentialsForm(BaseModel):
    username: str
    password: str
    shop_url: str


def ui_service(agent_url: str) -> FastAPI:
    app = FastAPI(title="UI service")
    active_sessions: dict[str, str] = {}  # agent_id -> pending interaction (Redis in production)

    def ask_agent(path: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {AGENT_TOKEN}"}
        with httpx.Client(base_url=agent_url, timeout=120, headers=headers) as client:
            response = client.post(path, json=payload)
            if response.status_code >= 400:  # {"error": <typed error's name>, "message": ...}
                error = response.json()
                raise HTTPException(response.status_code, f"{error['error']}: {error['message']}")
            return response.json()

    def present(agent_response: dict[str, Any]) -> dict[str, Any]:
        requests = agent_response["human_interaction_requests"]
        request = requests[0] if requests else None
        if request and request["dialog_option_id"] == "shop_credentials":
            active_sessions[agent_response["agent_id"]] = request["id"]
            return {
                "type": "credentials_form",
                "message": "Please provide your shop credentials",
                "shop_url": request["parameters"]["shop_url"],
                "session_id": agent_response["agent_id"],
            }
        if agent_response["is_complete"]:
            order = agent_response["final_response"]
            return {
                "type": "order_result",
                "message": f"Your last order: #{order['order_number']} from {order['date']} (ID: {order['id']})",
            }
        return {"type": "message", "message": f"The agent is {agent_response['state']}"}

    @app.post("/chat")
    def chat_endpoint(message: ChatMessage) -> dict[str, Any]:
        run = {"prompt": message.message, "response_model": "OrderInfo"}
        return present(ask_agent("/api/runs", run))

    @app.post("/submit_credentials")
    def submit_credentials(credentials: CredentialsForm, session_id: str) -> dict[str, Any]:
        if session_id not in active_sessions:
            raise HTTPException(status_code=404, detail="Session not found")
        answer = {
            "interaction_id": active_sessions.pop(session_id),
            "response_type": "dialog_option",
            "dialog_option_id": "shop_credentials",
            # kept whole, whatever the password holds (commas, colons, quotes)
            "values": {"username": credentials.username, "password": credentials.password},
        }
        return present(ask_agent(f"/api/runs/{session_id}/answers", {"answers": [answer]}))

    return app


# -- the user ----------------------------------------------------------------------------


def user(ui_url: str) -> None:
    """What the user's browser does: chat, fill in the login form, read the answer."""
    with httpx.Client(base_url=ui_url, timeout=120) as browser:
        message = "Give me my last order from this online shop"
        print(f"user: {message}")
        reply = (browser.post("/chat", json={"message": message, "user_id": "u1"})).json()
        print(f"ui:   [{reply['type']}] {reply['message']}")
        if reply["type"] == "credentials_form":
            print(f"user: logs in to {reply['shop_url']} as demo")
            form = {"username": "demo", "password": "demo123", "shop_url": reply["shop_url"]}
            response = browser.post(
                "/submit_credentials", params={"session_id": reply["session_id"]}, json=form
            )
            reply = response.json()
            print(f"ui:   [{reply['type']}] {reply['message']}")


def main() -> None:
    banner("Two services: UI and agent")
    with serve(agent_service()) as agent_url:
        with serve(ui_service(agent_url)) as ui_url:
            user(ui_url)


if __name__ == "__main__":
    run(main)
