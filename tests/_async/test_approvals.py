"""Tool approval on the tool client: a call of a tool registered with ``requires_approval``
runs only after a human said yes, exactly once; a denied one never runs. Written once
(async), generated for sync.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import (
    AsyncOpenRouterClient,
    AsyncToolClient,
    ConfigurationError,
    ToolApproval,
)
from mbxai.testing import FakeModel, FakeRequest, Reply, call

pytestmark = pytest.mark.anyio

ASK = [{"role": "user", "content": "pay the invoice"}]


class Receipt(BaseModel):
    paid: bool
    amount: int


def client(fake: FakeModel) -> AsyncToolClient:
    chat = AsyncOpenRouterClient(token="test", transport=fake, max_retries=0)
    return AsyncToolClient(chat)


def tool_results(request: FakeRequest) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in request.messages if m.get("role") == "tool"}


class Ledger:
    """Tools that count every run: the side effects under test."""

    def __init__(self) -> None:
        self.payments: list[int] = []
        self.lookups: list[str] = []

    def pay(self, amount: int, auth_token: str = "") -> str:
        """Pay an amount."""
        self.payments.append(amount)
        return f"paid {amount}"

    def lookup(self, invoice: str) -> str:
        """Look an invoice up."""
        self.lookups.append(invoice)
        return f"{invoice}: 120 EUR"


def with_tools(fake: FakeModel, ledger: Ledger, **approval: Any) -> AsyncToolClient:
    tools = client(fake)
    tools.register_tool(
        "pay",
        "Pay",
        ledger.pay,
        injected="auth_token",
        requires_approval=approval.get("rule", True),
    )
    tools.register_tool("lookup", "Look up", ledger.lookup)
    return tools


async def test_nothing_runs_before_approval_and_an_approved_call_runs_once() -> None:
    ledger = Ledger()
    pay = call("pay", amount=120)
    fake = FakeModel([Reply(tool_calls=[pay]), "Paid."], strict_script=True)
    tools = with_tools(fake, ledger)
    paused = await tools.chat(ASK, tool_context={"auth_token": "secret-token-1"})
    assert ledger.payments == []
    assert len(fake.requests) == 1  # the loop stopped without asking the model again
    (pending,) = paused.pending_approvals
    assert pending.tool == "pay"
    assert pending.arguments == {"amount": 120}  # the injected token is never shown
    assert "secret-token-1" not in paused.model_dump_json()
    assert paused.content is None

    done = await tools.chat(
        paused.transcript,
        approvals={pending.id: True},
        tool_context={"auth_token": "secret-token-1"},
    )
    assert ledger.payments == [120]
    assert done.pending_approvals == []
    assert done.content == "Paid."
    assert tool_results(fake.requests[1]) == {pending.id: "paid 120"}
    # the finished transcript sent again with the same approval: the call does not run twice
    with pytest.raises(ConfigurationError, match="not waiting"):
        await tools.chat(done.transcript, approvals={pending.id: True})
    assert ledger.payments == [120]


async def test_a_denied_call_never_runs_and_the_model_is_told_why() -> None:
    ledger = Ledger()
    fake = FakeModel([Reply(tool_calls=[call("pay", amount=5000)]), "OK, not paid."])
    tools = with_tools(fake, ledger)
    paused = await tools.chat(ASK)
    (pending,) = paused.pending_approvals
    done = await tools.chat(
        paused.transcript, approvals={pending.id: ToolApproval(approved=False, reason="too much")}
    )
    assert ledger.payments == []
    assert done.content == "OK, not paid."
    result = tool_results(fake.requests[1])[pending.id]
    assert "denied" in result
    assert "too much" in result


async def test_edited_arguments_are_checked_and_used() -> None:
    ledger = Ledger()
    fake = FakeModel([Reply(tool_calls=[call("pay", amount=5000)]), "Paid the corrected sum."])
    tools = with_tools(fake, ledger)
    paused = await tools.chat(ASK)
    (pending,) = paused.pending_approvals
    done = await tools.chat(
        paused.transcript, approvals={pending.id: ToolApproval(arguments={"amount": 50})}
    )
    assert ledger.payments == [50]
    assert done.content == "Paid the corrected sum."


async def test_calls_needing_no_approval_run_at_once_and_never_twice() -> None:
    ledger = Ledger()
    fake = FakeModel(
        [
            Reply(tool_calls=[call("lookup", invoice="INV-1"), call("pay", amount=120)]),
            "Looked up and paid.",
        ],
        strict_script=True,
    )
    tools = with_tools(fake, ledger)
    paused = await tools.chat(ASK)
    assert ledger.lookups == ["INV-1"]
    assert ledger.payments == []
    (pending,) = paused.pending_approvals
    assert pending.tool == "pay"
    await tools.chat(paused.transcript, approvals={pending.id: True})
    assert ledger.lookups == ["INV-1"]  # not run again on resume
    assert ledger.payments == [120]
    assert sorted(tool_results(fake.requests[1]).values()) == ["INV-1: 120 EUR", "paid 120"]


async def test_a_rule_decides_per_call() -> None:
    ledger = Ledger()
    fake = FakeModel(
        [
            Reply(tool_calls=[call("pay", amount=20), call("pay", amount=900)]),
            "Small one paid, big one waits.",
        ]
    )
    tools = with_tools(fake, ledger, rule=lambda arguments: arguments["amount"] > 100)
    paused = await tools.chat(ASK)
    assert ledger.payments == [20]
    (pending,) = paused.pending_approvals
    assert pending.arguments == {"amount": 900}


async def test_several_pending_calls_answered_one_at_a_time() -> None:
    ledger = Ledger()
    fake = FakeModel(
        [Reply(tool_calls=[call("pay", amount=1), call("pay", amount=2)]), "Both handled."],
        strict_script=True,
    )
    tools = with_tools(fake, ledger)
    paused = await tools.chat(ASK)
    first, second = paused.pending_approvals
    again = await tools.chat(paused.transcript, approvals={first.id: True})
    assert ledger.payments == [1]
    assert [p.id for p in again.pending_approvals] == [second.id]
    assert len(fake.requests) == 1  # still no new request: a call is still waiting
    done = await tools.chat(again.transcript, approvals={second.id: False})
    assert ledger.payments == [1]
    assert done.content == "Both handled."


async def test_parse_stops_for_approval_then_parses() -> None:
    ledger = Ledger()
    answer = json.dumps({"paid": True, "amount": 120})
    fake = FakeModel([Reply(tool_calls=[call("pay", amount=120)]), answer])
    tools = with_tools(fake, ledger)
    paused = await tools.parse(ASK, Receipt)
    assert paused.choices[0].message.parsed is None
    (pending,) = paused.pending_approvals
    done = await tools.parse(paused.transcript, Receipt, approvals={pending.id: True})
    assert done.choices[0].message.parsed == Receipt(paid=True, amount=120)
    assert ledger.payments == [120]


async def test_a_stream_ends_at_the_pending_calls_and_resumes() -> None:
    ledger = Ledger()
    fake = FakeModel([Reply(tool_calls=[call("pay", amount=7)]), "Paid seven."])
    tools = with_tools(fake, ledger)
    stream = await tools.chat(ASK, stream=True)
    async with stream:
        async for _ in stream:
            pass
    (pending,) = stream.pending_approvals
    assert ledger.payments == []
    resumed = await tools.chat(stream.transcript, stream=True, approvals={pending.id: True})
    text = ""
    async with resumed:
        async for chunk in resumed:
            text += chunk.choices[0].delta.content or ""
    assert text == "Paid seven."
    assert ledger.payments == [7]
    assert resumed.pending_approvals == []


@pytest.mark.parametrize(
    ("approvals", "message"),
    [
        ({"call_nope": True}, "not waiting"),
        ({"x": "yes"}, "must be True, False or a ToolApproval"),
        ("all", "approvals must be a mapping"),
    ],
)
async def test_bad_approvals_are_refused(approvals: Any, message: str) -> None:
    ledger = Ledger()
    fake = FakeModel([Reply(tool_calls=[call("pay", amount=1)])])
    tools = with_tools(fake, ledger)
    paused = await tools.chat(ASK)
    with pytest.raises(ConfigurationError, match=message):
        await tools.chat(paused.transcript, approvals=approvals)
    assert ledger.payments == []


def test_requires_approval_must_be_a_bool_or_a_function() -> None:
    tools = client(FakeModel())
    with pytest.raises(ConfigurationError, match="requires_approval"):
        tools.register_tool("pay", "Pay", Ledger().pay, requires_approval="yes")  # type: ignore[arg-type]
