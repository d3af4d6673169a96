"""Human in the loop: a decision, a question and a dialog option that supplies a secret.

The dialog option stands for a UI flow (here: a Jira login). The token it returns goes to
the tool parameter of the same name and nowhere else: not into prompts, logs or the
stored session (where it is kept encrypted with ``secret_key``).
"""

from __future__ import annotations

import json
import os
import secrets

from _setup import banner, chat_client, decision, evaluation, outcome, plan, question, run, task
from pydantic import BaseModel, Field

from mbxai import (
    AsyncAgentClient,
    AsyncToolClient,
    DialogOption,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInteractionType,
    InMemorySessionHandler,
)
from mbxai.testing import Reply, call

JIRA_TOKEN = "oauth_token_from_the_ui_abc123"


class JiraSummary(BaseModel):
    story_id: str = Field(description="Jira story ID")
    title: str = Field(description="Story title")
    status: str = Field(description="Current status")
    summary: str = Field(description="AI-generated summary")
    audience: str = Field(description="Who the summary is for")


def fetch_jira_story(story_id: str, auth_token: str) -> dict:
    """Fetch a Jira story using the API."""
    # auth_token is filled from the dialog option's answer: the model never sees it.
    assert auth_token == JIRA_TOKEN
    return {"id": story_id, "title": "Implement user authentication", "status": "In Progress"}


def answer(request: HumanInLoopRequest) -> HumanInLoopResponse:
    """What the UI sends back once the user has answered (simulated here)."""
    if request.interaction_type == HumanInteractionType.DECISION:
        choice = "publish" if "publish" in request.options else request.options[0]
        print(f"   user picks {choice!r} of {request.options}")
        return HumanInLoopResponse(
            interaction_id=request.id, response_type=request.interaction_type, decision=choice
        )
    if request.interaction_type == HumanInteractionType.QUESTION:
        print("   user answers 'the QA team'")
        return HumanInLoopResponse(
            interaction_id=request.id, response_type=request.interaction_type, answer="the QA team"
        )
    # A dialog option: the UI shows "Login to Atlassian", runs OAuth, and sends the token.
    print(f"   UI runs dialog {request.dialog_option_id!r} with {request.parameters}")
    return HumanInLoopResponse(
        interaction_id=request.id,
        response_type=HumanInteractionType.DIALOG_OPTION,
        dialog_option_id=request.dialog_option_id,
        additional_context=f"auth_token:{JIRA_TOKEN}",
    )


OFFLINE_REPLIES = (
    plan(
        "Summarise Jira story PROJ-123 for the right audience",
        task("t1", "Ask who the summary is for", human=question("Who is the summary for?")),
        task("t2", "Fetch story PROJ-123", depends_on=["t1"], tools=["fetch_jira_story"]),
        task(
            "t3",
            "Publish the summary",
            depends_on=["t2"],
            human=decision("Publish the summary to the team channel?", ["publish", "keep private"]),
        ),
    ),
    outcome("The summary is for the QA team."),
    Reply(tool_calls=[call("fetch_jira_story", story_id="PROJ-123")]),
    outcome("PROJ-123 'Implement user authentication' is In Progress."),
    outcome("Published to the team channel."),
    evaluation(
        JiraSummary(
            story_id="PROJ-123",
            title="Implement user authentication",
            status="In Progress",
            summary="OAuth2 login is being built; QA can start on the login flow.",
            audience="the QA team",
        )
    ),
)


async def main() -> None:
    banner("Human in the loop")
    store = InMemorySessionHandler()
    agent = AsyncAgentClient(
        AsyncToolClient(chat_client(*OFFLINE_REPLIES)),
        human_in_loop=True,
        dialog_options=[
            DialogOption(
                id="jira_auth",
                title="Jira Authentication",
                description="Authenticate with Atlassian Jira",
                parameters={"jira_url": "https://company.atlassian.net"},
                provides=["auth_token"],
            )
        ],
        session_handler=store,
        # Every process that resumes these sessions needs the same key; this example has one.
        secret_key=os.environ.get("MBXAI_SECRET_KEY") or secrets.token_urlsafe(32),
    )
    agent.register_tool("fetch_jira_story", "Fetch Jira story details", fetch_jira_story)

    response = await agent.agent(
        "Summarise Jira story PROJ-123 from https://company.atlassian.net",
        final_response_structure=JiraSummary,
    )
    while response.needs_human_interaction():
        request = response.human_interaction_request
        assert request is not None
        print(f"-> {request.interaction_type.value}: {request.prompt}")
        response = await agent.agent(
            "Continue with user input",
            final_response_structure=JiraSummary,
            agent_id=response.agent_id,
            human_response=answer(request),
        )

    print(f"state: {response.state}")
    if response.is_complete():
        summary = response.final_response
        print(f"Story: {summary.story_id} - {summary.title} ({summary.status})")
        print(f"Summary for {summary.audience}: {summary.summary}")
    if response.goal_evaluation:
        print(f"Goal Achievement: {response.goal_evaluation.completion_percentage}%")
    stored = json.dumps(store.get_session(response.agent_id))
    print("token in the stored session:", JIRA_TOKEN in stored)
    await agent.aclose()


if __name__ == "__main__":
    run(main)
