# This file is generated from examples/_async/agent.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The agent: plan, run each task, evaluate the goal; with and without tools."""

from __future__ import annotations

from _setup import banner, chat_client, evaluation, outcome, plan, run, task
from pydantic import BaseModel, Field

from mbxai import AgentClient, AgentEvent, ToolClient
from mbxai.testing import Reply, call


class ProjectPlan(BaseModel):
    project_name: str = Field(description="Name of the project")
    technologies: list[str] = Field(description="Technologies to be used")
    phases: list[str] = Field(description="Project phases")
    estimated_duration: str = Field(description="Estimated duration")


class FlightInfo(BaseModel):
    flights: list[dict] = Field(description="Available flights")
    recommendation: str = Field(description="Flight recommendation")


def search_flights(origin: str, destination: str, date: str) -> dict:
    """Search for flights between cities."""
    return {"flights": [{"airline": "Example Air", "price": "$450", "duration": "3h 15m"}]}


def show_progress(event: AgentEvent) -> None:
    """on_event gets every step: for a progress bar, a log, or a UI."""
    print(f"  . {event.kind}" + (f" {event.task_id}" if event.task_id else ""))


# What the offline fake answers: a plan of two tasks, each task's result, the evaluation.
PLAN_REPLIES = (
    plan(
        "A project plan for a React web application",
        task("t1", "Choose the stack"),
        task("t2", "Split the work into phases", depends_on=["t1"]),
    ),
    outcome("React 18 with TypeScript and Vite; Node.js API; PostgreSQL."),
    outcome("Phases: design (1 week), build (4 weeks), test and launch (2 weeks)."),
    evaluation(
        ProjectPlan(
            project_name="Storefront",
            technologies=["React", "TypeScript", "Vite", "Node.js", "PostgreSQL"],
            phases=["Design", "Build", "Test and launch"],
            estimated_duration="7 weeks",
        )
    ),
)
FLIGHT_REPLIES = (
    plan(
        "Find flights from New York to Los Angeles",
        task("t1", "Search flights", tools=["search_flights"]),
    ),
    Reply(tool_calls=[call("search_flights", origin="NYC", destination="LAX", date="tomorrow")]),
    outcome("One flight: Example Air, $450, 3h 15m."),
    evaluation(
        FlightInfo(
            flights=[{"airline": "Example Air", "price": "$450"}],
            recommendation="Take Example Air: the only direct option.",
        )
    ),
)


def main() -> None:
    banner("Agent")
    agent = AgentClient(chat_client(*PLAN_REPLIES), human_in_loop=False, on_event=show_progress)
    response = agent.agent(
        "Create a project plan for a React web application",
        final_response_structure=ProjectPlan,
    )
    print(f"Agent State: {response.state}")
    if response.requirement_analysis:
        print(f"Goal: {response.requirement_analysis.goal}")
        print(f"Complexity: {response.requirement_analysis.complexity_estimate}/10")
    if response.todo_list:
        print(f"Generated {len(response.todo_list.tasks)} tasks:")
        for item in response.todo_list.tasks:
            print(f" - {item.title} (Status: {item.status.value})")
    if response.is_complete():
        project = response.final_response
        print(f"Project: {project.project_name}")
        print(f"Technologies: {', '.join(project.technologies)}")
    total = response.token_summary.total
    print(f"{response.llm_calls} LLM calls, {total.total_tokens} tokens")
    agent.close()

    banner("Agent with tools")
    agent = AgentClient(ToolClient(chat_client(*FLIGHT_REPLIES)))
    agent.register_tool(
        name="search_flights",
        description="Search for flights between cities",
        function=search_flights,
    )
    response = agent.agent(
        prompt="Find flights from New York to Los Angeles for tomorrow",
        final_response_structure=FlightInfo,
        ask_questions=False,
    )
    if response.is_complete():
        flight_info = response.final_response
        print(f"Found {len(flight_info.flights)} flights")
        print(f"Recommendation: {flight_info.recommendation}")
    print("sessions in the store:", agent.list_sessions())
    agent.close()


if __name__ == "__main__":
    run(main)
