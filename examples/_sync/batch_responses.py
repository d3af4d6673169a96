# This file is generated from examples/_async/batch_responses.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Several human interactions at once, answered together in one call.

When more than one ready task needs a human, the run pauses with all their requests
(``response.human_interaction_requests``); answer them with a list of responses or a
``HumanInLoopResponseBatch``.
"""

from __future__ import annotations

import os
import secrets

from _setup import banner, chat_client, decision, evaluation, outcome, plan, run, task
from pydantic import BaseModel, Field

from mbxai import (
    AgentClient,
    DialogOption,
    HumanInLoopResponse,
    HumanInLoopResponseBatch,
    HumanInteractionType,
    ToolClient,
)
from mbxai.testing import Reply, call


class Release(BaseModel):
    version: str = Field(description="The released version")
    approved_by: str = Field(description="Who approved the deployment")
    release_url: str = Field(description="Where the release is")


def create_release(tag: str, github_token: str) -> dict:
    """Create a GitHub release for a tag."""
    return {"tag": tag, "url": f"https://github.com/acme/shop/releases/tag/{tag}"}


OFFLINE_REPLIES = (
    plan(
        "Release v2.1.0 to production",
        task(
            "t1",
            "Get the deployment approved",
            human=decision("Deploy v2.1.0 to production?", ["approve", "reject"]),
        ),
        task("t2", "Create the GitHub release", tools=["create_release"]),
    ),
    outcome("Deployment approved by john.doe@company.com."),
    Reply(tool_calls=[call("create_release", tag="v2.1.0")]),
    outcome("Release created: https://github.com/acme/shop/releases/tag/v2.1.0"),
    evaluation(
        Release(
            version="v2.1.0",
            approved_by="john.doe@company.com",
            release_url="https://github.com/acme/shop/releases/tag/v2.1.0",
        )
    ),
)


def main() -> None:
    banner("Batch responses")
    agent = AgentClient(
        ToolClient(chat_client(*OFFLINE_REPLIES)),
        human_in_loop=True,
        dialog_options=[
            DialogOption(
                id="github_auth",
                title="GitHub Authentication",
                description="Authenticate with GitHub",
                parameters={"scopes": ["repo"]},
                provides=["github_token"],
            )
        ],
        secret_key=os.environ.get("MBXAI_SECRET_KEY") or secrets.token_urlsafe(32),
    )
    agent.register_tool("create_release", "Create a GitHub release", create_release)

    response = agent.agent("Release v2.1.0 to production", Release)
    while response.needs_human_interaction():
        print(f"waiting for {len(response.human_interaction_requests)} answer(s):")
        answers = []
        for request in response.human_interaction_requests:
            print(f"  - {request.interaction_type.value}: {request.prompt}")
            if request.interaction_type == HumanInteractionType.DIALOG_OPTION:
                answers.append(
                    HumanInLoopResponse(
                        interaction_id=request.id,
                        response_type=HumanInteractionType.DIALOG_OPTION,
                        dialog_option_id=request.dialog_option_id,
                        additional_context="github_token:gho_example_token_123",
                    )
                )
            elif request.interaction_type == HumanInteractionType.DECISION:
                choice = "approve" if "approve" in request.options else "proceed"
                answers.append(
                    HumanInLoopResponse(
                        interaction_id=request.id,
                        response_type=HumanInteractionType.DECISION,
                        decision=choice,
                        additional_context="approved_by:john.doe@company.com",
                    )
                )
            else:
                answers.append(
                    HumanInLoopResponse(
                        interaction_id=request.id,
                        response_type=request.interaction_type,
                        answer="Go ahead.",
                    )
                )
        # A plain list of responses works as well as the batch model.
        response = agent.agent(
            "Continue with the answers",
            Release,
            agent_id=response.agent_id,
            human_response=HumanInLoopResponseBatch(responses=answers),
        )

    print(f"state: {response.state}")
    if response.is_complete():
        release = response.final_response
        print(
            f"released {release.version}, approved by {release.approved_by}: {release.release_url}"
        )
    agent.close()


if __name__ == "__main__":
    run(main)
