"""Tool approval and usage limits: nothing runs that a human did not allow, and no call
spends more than it may."""

from __future__ import annotations

from _setup import banner, chat_client, evaluation, outcome, plan, run, task
from pydantic import BaseModel

from mbxai import (
    AsyncAgentClient,
    AsyncToolClient,
    HumanInLoopResponse,
    HumanInteractionType,
    ToolApproval,
    UsageLimitExceeded,
    UsageLimits,
)
from mbxai.testing import Reply, call

payments: list[int] = []


def pay_invoice(invoice: str, amount: int) -> str:
    """Pay an invoice.

    Args:
        invoice: The invoice number
        amount: The amount in EUR
    """
    payments.append(amount)
    return f"paid {amount} EUR for {invoice}"


def lookup_invoice(invoice: str) -> dict:
    """Look an invoice up."""
    return {"invoice": invoice, "amount": 120, "payee": "ACME"}


class Payment(BaseModel):
    invoice: str
    paid: bool


# What the offline fake answers, in order (a real model decides for itself).
OFFLINE_REPLIES = (
    # the tool client: a lookup (no approval needed) and a payment (approval needed)
    Reply(
        tool_calls=[
            call("lookup_invoice", invoice="INV-7"),
            call("pay_invoice", invoice="INV-7", amount=1200),
        ]
    ),
    "Paid 120 EUR for INV-7 after the correction.",
    # the agent: a plan with one task, which wants to pay; then the outcome and evaluation
    plan("Pay INV-8", task("t1", "Pay INV-8", tools=["pay_invoice"])),
    Reply(tool_calls=[call("pay_invoice", invoice="INV-8", amount=80)]),
    outcome("INV-8 paid"),
    evaluation(Payment(invoice="INV-8", paid=True)),
)


async def main() -> None:
    banner("Tool approval and usage limits")
    async with AsyncToolClient(chat_client(*OFFLINE_REPLIES)) as tools:
        tools.register_tool("lookup_invoice", "Look an invoice up", lookup_invoice)
        tools.register_tool(
            "pay_invoice",
            "Pay an invoice",
            pay_invoice,
            requires_approval=lambda arguments: arguments["amount"] > 100,  # big ones only
        )
        limits = UsageLimits(max_requests=10)
        response = await tools.chat(
            [{"role": "user", "content": "Pay invoice INV-7"}], usage_limits=limits
        )
        for pending in response.pending_approvals:  # the loop stopped: nothing paid yet
            print(f"waiting: {pending.tool}({pending.arguments}), paid so far: {payments}")
        # A human corrects the amount and approves; the loop goes on from the transcript.
        answer = ToolApproval(arguments={"invoice": "INV-7", "amount": 120})
        response = await tools.chat(
            response.transcript,
            approvals={response.pending_approvals[0].id: answer},
            usage_limits=limits,
        )
        print("reply:", response.content, "| payments:", payments)

        try:
            await tools.chat(
                [{"role": "user", "content": "Anything"}], usage_limits=UsageLimits(max_requests=0)
            )
        except UsageLimitExceeded as exc:
            print(f"UsageLimitExceeded ({exc.limit}): nothing was sent")

        # The agent pauses on such a call with a TOOL_APPROVAL request; it runs exactly once
        # after "approve" (also when the answer comes to another process), never after "deny".
        agent = AsyncAgentClient(AsyncToolClient(tools.openrouter_client), human_in_loop=True)
        agent.register_tool("pay_invoice", "Pay an invoice", pay_invoice, requires_approval=True)
        run_ = await agent.agent("Pay invoice INV-8", Payment)
        request = run_.human_interaction_request
        assert request is not None
        print(f"-> {request.interaction_type.value}: {request.tool} {request.arguments}")
        run_ = await agent.agent(
            "Continue",
            Payment,
            agent_id=run_.agent_id,
            human_response=HumanInLoopResponse(
                interaction_id=request.id,
                response_type=HumanInteractionType.TOOL_APPROVAL,
                decision="approve",
            ),
        )
        print("agent:", run_.state.value, run_.final_response, "| payments:", payments)


if __name__ == "__main__":
    run(main)
