"""Tool approval in the agent: a call of a tool registered with ``requires_approval``
pauses the run with a ``TOOL_APPROVAL`` request; an approved call runs exactly once
(also from another process, also with two workers at once), a denied one never. Written
once (async), generated for sync.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import (
    AsyncAgentClient,
    AsyncOpenRouterClient,
    AsyncToolClient,
    DialogOption,
    HumanInLoopResponse,
    HumanInteractionType,
    InMemorySessionHandler,
    SessionConflictError,
    TaskStatus,
)
from mbxai.testing import FakeModel, Reply, call

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


class Summary(BaseModel):
    summary: str


def plan(tools: list[str]) -> Reply:
    return Reply(
        content=json.dumps(
            {
                "requirement_analysis": {
                    "goal": "pay",
                    "success_criteria": [],
                    "constraints": [],
                    "complexity_estimate": 1,
                },
                "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
                "tasks": [
                    {
                        "id": "t1",
                        "title": "pay the invoice",
                        "description": "pay it",
                        "dependencies": [],
                        "tools": tools,
                        "estimated_complexity": 1,
                        "human_interaction": None,
                    }
                ],
            }
        )
    )


def outcome(result: str) -> Reply:
    return Reply(content=json.dumps({"status": "completed", "result": result, "question": None}))


def evaluation() -> Reply:
    return Reply(
        content=json.dumps(
            {
                "goal_evaluation": {
                    "goal_achieved": True,
                    "completion_percentage": 100,
                    "feedback": "",
                    "missing_elements": [],
                },
                "final_response": {"summary": "done"},
                "follow_up_tasks": [],
            }
        )
    )


class Bank:
    def __init__(self) -> None:
        self.payments: list[int] = []

    def pay(self, amount: int, auth_token: str = "") -> str:
        """Pay an amount."""
        self.payments.append(amount)
        return f"paid {amount}"


def make_agent(fake: FakeModel, bank: Bank, store: Any, **kwargs: Any) -> AsyncAgentClient:
    chat = AsyncOpenRouterClient(token="test", transport=fake, max_retries=0)
    agent = AsyncAgentClient(
        AsyncToolClient(chat),
        human_in_loop=kwargs.pop("human_in_loop", True),
        session_handler=store,
        secret_key="app-key",
        **kwargs,
    )
    agent.register_tool("pay", "Pay an invoice", bank.pay, requires_approval=True)
    return agent


def answer(request_id: str, decision: str, reason: str = "") -> HumanInLoopResponse:
    return HumanInLoopResponse(
        interaction_id=request_id,
        response_type=HumanInteractionType.TOOL_APPROVAL,
        decision=decision,
        additional_context=reason,
    )


async def test_an_approved_call_runs_once_after_the_answer() -> None:
    bank = Bank()
    fake = FakeModel(
        [plan(["pay"]), Reply(tool_calls=[call("pay", amount=120)])], strict_script=True
    )
    agent = make_agent(fake, bank, InMemorySessionHandler())
    paused = await agent.agent("Pay INV-1", Summary)
    assert paused.is_waiting_for_human()
    request = paused.human_interaction_request
    assert request is not None
    assert request.interaction_type == HumanInteractionType.TOOL_APPROVAL
    assert (request.tool, request.arguments) == ("pay", {"amount": 120})
    assert request.options == ["approve", "deny"]
    assert "pay" in request.prompt
    assert bank.payments == []  # nothing happened before the approval
    (task,) = paused.todo_list.tasks  # type: ignore[union-attr]
    assert task.status == TaskStatus.WAITING_FOR_HUMAN

    fake.add(outcome("paid"), evaluation())
    done = await agent.agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=answer(request.id, "approve")
    )
    assert done.is_complete(), done.error
    assert bank.payments == [120]
    # the tool loop went on from where it stopped: no new planning, the result reached it
    tool_messages = [m for m in fake.requests[2].messages if m.get("role") == "tool"]
    assert [m["content"] for m in tool_messages] == ["paid 120"]


async def test_a_denied_call_never_runs() -> None:
    bank = Bank()
    fake = FakeModel([plan(["pay"]), Reply(tool_calls=[call("pay", amount=9000)])])
    agent = make_agent(fake, bank, InMemorySessionHandler())
    paused = await agent.agent("Pay INV-2", Summary)
    request = paused.human_interaction_request
    assert request is not None
    fake.add(outcome("not paid: denied"), evaluation())
    done = await agent.agent(
        "Continue",
        Summary,
        agent_id=paused.agent_id,
        human_response=answer(request.id, "deny", "over the limit"),
    )
    assert done.is_complete()
    assert bank.payments == []
    (denial,) = [m["content"] for m in fake.requests[2].messages if m.get("role") == "tool"]
    assert "denied" in denial
    assert "over the limit" in denial


async def test_two_pending_approvals_answered_one_at_a_time() -> None:
    bank = Bank()
    fake = FakeModel(
        [plan(["pay"]), Reply(tool_calls=[call("pay", amount=1), call("pay", amount=2)])],
        strict_script=True,
    )
    agent = make_agent(fake, bank, InMemorySessionHandler())
    paused = await agent.agent("Pay both", Summary)
    first, second = paused.human_interaction_requests
    again = await agent.agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=answer(first.id, "approve")
    )
    assert bank.payments == [1]
    assert [r.id for r in again.human_interaction_requests] == [second.id]  # the same request
    assert len(fake.requests) == 2  # no LLM call while a call still waits
    fake.add(outcome("one paid"), evaluation())
    done = await agent.agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=answer(second.id, "deny")
    )
    assert done.is_complete()
    assert bank.payments == [1]


async def test_the_answer_may_come_to_another_process() -> None:
    store = InMemorySessionHandler()
    bank = Bank()
    fake = FakeModel([plan(["pay"]), Reply(tool_calls=[call("pay", amount=5)])])
    paused = await make_agent(fake, bank, store).agent("Pay", Summary)
    request = paused.human_interaction_request
    assert request is not None
    fake.add(outcome("paid"), evaluation())
    other = make_agent(fake, bank, store)  # shares only the store (and the key)
    done = await other.agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=answer(request.id, "approve")
    )
    assert done.is_complete()
    assert bank.payments == [5]


class StaleReads:
    """A store seen by a worker that read the session before another worker wrote it."""

    def __init__(self, store: InMemorySessionHandler, agent_id: str) -> None:
        self._store = store
        self._stale = copy.deepcopy(store.get_session(agent_id))

    def get_session(self, agent_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self._stale)

    def set_session(
        self, agent_id: str, data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        self._store.set_session(agent_id, data, expected_version=expected_version)

    def delete_session(self, agent_id: str) -> bool:
        return self._store.delete_session(agent_id)

    def list_sessions(self) -> list[str]:
        return self._store.list_sessions()

    def session_exists(self, agent_id: str) -> bool:
        return self._store.session_exists(agent_id)


async def test_two_workers_with_the_same_answer_run_the_call_once() -> None:
    store = InMemorySessionHandler()
    bank = Bank()
    fake = FakeModel([plan(["pay"]), Reply(tool_calls=[call("pay", amount=42)])])
    paused = await make_agent(fake, bank, store).agent("Pay", Summary)
    request = paused.human_interaction_request
    assert request is not None
    late = make_agent(fake, bank, StaleReads(store, paused.agent_id))
    fake.add(outcome("paid"), evaluation())
    first = await make_agent(fake, bank, store).agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=answer(request.id, "approve")
    )
    assert first.is_complete()
    with pytest.raises(SessionConflictError):
        await late.agent(
            "Continue",
            Summary,
            agent_id=paused.agent_id,
            human_response=answer(request.id, "approve"),
        )
    assert bank.payments == [42]


async def test_without_a_human_such_calls_are_denied_and_never_run() -> None:
    bank = Bank()
    fake = FakeModel(
        [plan(["pay"]), Reply(tool_calls=[call("pay", amount=3)]), outcome("could not pay")],
        strict_script=True,
    )
    fake.add(evaluation())
    agent = make_agent(fake, bank, InMemorySessionHandler(), human_in_loop=False)
    done = await agent.agent("Pay", Summary)
    assert done.is_complete()
    assert bank.payments == []
    (denial,) = [m["content"] for m in fake.requests[2].messages if m.get("role") == "tool"]
    assert "no human is available" in denial


async def test_approval_arguments_never_show_injected_values() -> None:
    bank = Bank()
    option = DialogOption(id="bank", title="Bank login", provides=["auth_token"])
    fake = FakeModel([plan(["pay"])])
    agent = make_agent(fake, bank, InMemorySessionHandler(), dialog_options=[option])
    login = await agent.agent("Pay", Summary)
    request = login.human_interaction_request
    assert request is not None
    assert request.interaction_type == HumanInteractionType.DIALOG_OPTION
    fake.add(Reply(tool_calls=[call("pay", amount=8)]))
    paused = await agent.agent(
        "Continue",
        Summary,
        agent_id=login.agent_id,
        human_response=HumanInLoopResponse(
            interaction_id=request.id,
            response_type=HumanInteractionType.DIALOG_OPTION,
            additional_context="auth_token:s3cret-bank-token",
        ),
    )
    approval = paused.human_interaction_request
    assert approval is not None
    assert approval.arguments == {"amount": 8}
    assert "s3cret-bank-token" not in paused.model_dump_json()
    assert bank.payments == []
