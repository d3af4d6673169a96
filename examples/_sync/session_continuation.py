# This file is generated from examples/_async/session_continuation.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Session continuation: a follow-up request builds on the earlier result of the session."""

from __future__ import annotations

from _setup import banner, chat_client, evaluation, outcome, plan, run, task
from pydantic import BaseModel, Field

from mbxai import AgentClient


class Architecture(BaseModel):
    project_name: str = Field(description="Name of the project")
    services: list[str] = Field(description="The services of the architecture")
    notes: str = Field(description="Key decisions")


OFFLINE_REPLIES = (
    plan(
        "Design a microservices architecture for a shop",
        task("t1", "Split the domain into services"),
    ),
    outcome("Catalog, cart, orders and shipping services behind an API gateway."),
    evaluation(
        Architecture(
            project_name="Shop platform",
            services=["gateway", "catalog", "cart", "orders", "shipping"],
            notes="Event-driven between orders and shipping.",
        )
    ),
    # The follow-up: the planner sees the earlier request and its result.
    plan("Add authentication and payments", task("t1", "Add auth and payment services")),
    outcome("An auth service (OAuth2, JWT at the gateway) and a payments service (Stripe)."),
    evaluation(
        Architecture(
            project_name="Shop platform",
            services=["gateway", "auth", "catalog", "cart", "orders", "payments", "shipping"],
            notes="JWT checked at the gateway; payments emit order-paid events.",
        ),
        feedback="Authentication and payments are integrated into the earlier design.",
    ),
)


def main() -> None:
    banner("Session continuation")
    agent = AgentClient(chat_client(*OFFLINE_REPLIES))

    first = agent.agent(
        "Create a microservices architecture for an e-commerce platform",
        final_response_structure=Architecture,
    )
    agent_id = first.agent_id
    print("first: ", ", ".join(first.final_response.services))

    second = agent.agent(
        "Add authentication and payment processing to the architecture",
        final_response_structure=Architecture,
        agent_id=agent_id,  # continues the session
    )
    print("second:", ", ".join(second.final_response.services))
    if second.goal_evaluation:
        print(f"Goal achievement: {second.goal_evaluation.completion_percentage}%")
        print(f"Feedback: {second.goal_evaluation.feedback}")

    info = agent.get_session_info(agent_id)
    assert info is not None
    print(f"session {agent_id[:8]}: {info['turns']} earlier turn(s), {info['llm_calls']} LLM calls")
    print("sessions:", len(agent.list_sessions()))
    print("deleted:", agent.delete_session(agent_id))
    agent.close()


if __name__ == "__main__":
    run(main)
