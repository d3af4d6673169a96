"""The agent's pure logic: human-response checking and delivery, under arbitrary input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from mbxai import HumanResponseError
from mbxai._agent import (
    AgentSession,
    PlannedHuman,
    PlannedTask,
    add_planned_tasks,
    apply_responses,
    check_responses,
    journal_key,
    parse_pairs,
)
from mbxai._secrets import SecretBox
from mbxai.agent.models import (
    AgentState,
    DialogOption,
    HumanInLoopResponse,
    HumanInteractionType,
    TaskStatus,
)


class Final(BaseModel):
    text: str


OPTION = DialogOption(id="jira_auth", title="Jira", provides=["auth_token"])


def waiting_session(kind: str) -> AgentSession:
    session = AgentSession.new("goal", Final)
    human = PlannedHuman(
        type=kind,  # type: ignore[arg-type]
        prompt="?",
        options=["blue", "green"],
        dialog_option_id="jira_auth" if kind == "dialog_option" else None,
    )
    planned = PlannedTask(
        id="a",
        title="t",
        description="d",
        dependencies=["a", "missing"],
        tools=["unknown"],
        estimated_complexity=99,
        human_interaction=human,
    )
    (task,) = add_planned_tasks(
        session, [planned], tool_names=set(), dialog_options=[OPTION], ask_humans=True
    )
    assert task.dependencies == []  # self and unknown dependencies dropped
    assert task.tools == []
    assert task.estimated_complexity == 10
    assert task.human_interaction is not None
    session.pending_requests = [task.human_interaction]
    session.state = AgentState.WAITING_FOR_HUMAN
    return session


def test_parse_pairs_like_the_seed() -> None:
    assert parse_pairs("auth_token:abc123") == ({"auth_token": "abc123"}, "")
    assert parse_pairs("username:demo,password:demo123") == (
        {"username": "demo", "password": "demo123"},
        "",
    )
    assert parse_pairs("approved_by:john.doe@company.com") == (
        {"approved_by": "john.doe@company.com"},
        "",
    )
    assert parse_pairs("just some words") == ({}, "just some words")
    assert parse_pairs("") == ({}, "")


def test_a_value_ends_only_where_another_pair_starts() -> None:
    # a comma alone does not end a value, free text keeps its commas
    assert parse_pairs("note:first, then second,deadline=friday") == (
        {"note": "first, then second", "deadline": "friday"},
        "",
    )
    assert parse_pairs("Looks good, ship it") == ({}, "Looks good, ship it")


@pytest.mark.parametrize(
    "secret", ["a,b", "p,a:ss", "x,y=z", 'q"u,o\\te', "new\nline,", ",,,", "a, site:b"]
)
def test_a_secret_value_stays_whole_and_none_of_it_becomes_text(secret: str) -> None:
    # the seed's shape: plain pairs first, the secret last (only a secret key ends it)
    pairs, free = parse_pairs(f"username:demo,password:{secret}")
    assert pairs == {"username": "demo", "password": secret}
    assert free == ""
    # a dialog option's own keys count as secrets even when they do not look like one
    pairs, free = parse_pairs(f"pin:{secret},auth_token:t0k3n", {"pin"})
    assert pairs == {"pin": secret, "auth_token": "t0k3n"}
    assert free == ""


@pytest.mark.parametrize("secret", ["a,b", 'q"u,o\\te', "new\nline", "site:x,y"])
def test_quoted_and_json_values_hold_anything(secret: str) -> None:
    quoted = json.dumps(secret)
    assert parse_pairs(f"auth_token:{quoted},site:acme") == (
        {"auth_token": secret, "site": "acme"},
        "",
    )
    assert parse_pairs(json.dumps({"auth_token": secret, "port": 8080})) == (
        {"auth_token": secret, "port": "8080"},
        "",
    )


def test_a_secret_with_a_comma_reaches_the_tool_whole_and_never_the_prompt() -> None:
    session = waiting_session("dialog_option")
    box = SecretBox("application-key")
    secret = "hunter2,drop:tables"
    request = session.pending_requests[0]
    response = HumanInLoopResponse(
        interaction_id=request.id,
        response_type=HumanInteractionType.DIALOG_OPTION,
        dialog_option_id="jira_auth",
        additional_context=f"auth_token:{secret}",
    )
    apply_responses(
        session, [response], declared_secrets=set(), dialog_options=[OPTION], encrypt=box.encrypt
    )
    assert box.decrypt(session.secrets["auth_token"]) == secret
    task = session.todo_list.tasks[0]  # type: ignore[union-attr]
    assert "drop" not in (task.human_input or "")
    assert "tables" not in session.model_dump_json()


def test_dialog_secrets_are_encrypted_and_kept_out_of_prompts() -> None:
    session = waiting_session("dialog_option")
    box = SecretBox("application-key")
    request = session.pending_requests[0]
    response = HumanInLoopResponse(
        interaction_id=request.id,
        response_type=HumanInteractionType.DIALOG_OPTION,
        dialog_option_id="jira_auth",
        additional_context="site:acme,auth_token:oauth_token_abc123",
    )
    check_responses(session, [response])
    apply_responses(
        session, [response], declared_secrets=set(), dialog_options=[OPTION], encrypt=box.encrypt
    )
    assert "oauth_token_abc123" not in session.model_dump_json()
    assert box.decrypt(session.secrets["auth_token"]) == "oauth_token_abc123"
    task = session.todo_list.tasks[0]  # type: ignore[union-attr]
    assert task.human_input is not None
    assert "site=acme" in task.human_input
    assert "auth_token" in task.human_input
    assert "oauth_token_abc123" not in repr(response)
    assert task.status == TaskStatus.PENDING


def test_journal_keys_hide_arguments() -> None:
    key = journal_key("t1", "fetch", {"story": "PROJ-1"})
    assert "PROJ" not in key
    assert key == journal_key("t1", "fetch", {"story": "PROJ-1"})
    assert key != journal_key("t2", "fetch", {"story": "PROJ-1"})
    assert key != journal_key("t1", "fetch", {"story": "PROJ-2"})


def test_duplicate_planned_ids_become_distinct_tasks_with_remapped_dependencies() -> None:
    session = AgentSession.new("goal", Final)

    def planned(pid: str, deps: list[str]) -> PlannedTask:
        return PlannedTask(
            id=pid,
            title=f"task {pid}",
            description="d",
            dependencies=deps,
            tools=[],
            estimated_complexity=1,
            human_interaction=None,
        )

    tasks = add_planned_tasks(
        session,
        [planned("t1", []), planned("t1", ["t1"]), planned("t2", ["t1"])],
        tool_names=set(),
        dialog_options=[],
        ask_humans=False,
    )
    assert [t.id for t in tasks] == ["t1", "t2", "t3"]
    assert tasks[0].dependencies == []
    assert tasks[1].dependencies == ["t1"]  # its twin before it, never itself
    assert tasks[2].dependencies == ["t1", "t2"]  # every task the model called t1


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["decision", "question", "dialog_option"]),
    response_type=st.sampled_from(list(HumanInteractionType)),
    interaction=st.one_of(st.just("REAL"), st.text(max_size=20)),
    decision=st.one_of(
        st.none(), st.sampled_from(["blue", "proceed", "SKIP", "abort"]), st.text(max_size=30)
    ),
    answer=st.one_of(st.none(), st.text(max_size=200)),
    context=st.text(max_size=300),
    option_id=st.one_of(st.none(), st.just("jira_auth"), st.text(max_size=10)),
)
def test_arbitrary_human_responses_never_crash(
    kind: str,
    response_type: HumanInteractionType,
    interaction: str,
    decision: str | None,
    answer: str | None,
    context: str,
    option_id: str | None,
) -> None:
    session = waiting_session(kind)
    request = session.pending_requests[0]
    response = HumanInLoopResponse(
        interaction_id=request.id if interaction == "REAL" else interaction,
        response_type=response_type,
        decision=decision,
        answer=answer,
        dialog_option_id=option_id,
        additional_context=context,
    )
    before = session.model_dump()
    try:
        check_responses(session, [response])
    except HumanResponseError:
        assert session.model_dump() == before  # rejected: nothing changed
        return
    apply_responses(
        session,
        [response],
        declared_secrets=set(),
        dialog_options=[OPTION],
        encrypt=lambda v: "enc",
    )
    assert session.pending_requests == []
    AgentSession.model_validate_json(session.model_dump_json())  # still a valid, storable record


# -- what the agent's structured replies cost in prompt bytes --------------------------------


def test_the_plan_schema_leaves_out_the_fields_a_session_cannot_use() -> None:
    from mbxai._agent import evaluation_model, plan_model
    from mbxai._schema import response_format_for
    from mbxai.agent.models import ToolAnalysis

    lean = response_format_for(plan_model(False, False)).schema
    task = lean["$defs"]["PlannedTask"]
    assert "tools" not in task["properties"]
    assert "human_interaction" not in task["properties"]
    assert task["required"] == list(task["properties"])  # still strict
    assert "tool_analysis" not in lean["properties"]
    full = response_format_for(plan_model(True, True)).schema
    assert {"tools", "human_interaction"} <= set(full["$defs"]["PlannedTask"]["properties"])
    assert "tool_analysis" in full["properties"]

    reply = {
        "requirement_analysis": {
            "goal": "g",
            "success_criteria": [],
            "constraints": [],
            "complexity_estimate": 2,
        },
        "tasks": [
            {
                "id": "t1",
                "title": "a",
                "description": "b",
                "dependencies": [],
                "estimated_complexity": 2,
            }
        ],
    }
    plan = plan_model(False, False).model_validate(reply)
    assert plan.tasks[0].tools == []
    assert plan.tasks[0].human_interaction is None
    assert plan.tool_analysis == ToolAnalysis()

    class Final(BaseModel):
        answer: str

    follow = response_format_for(evaluation_model(Final, False, True)).schema
    assert "tools" not in follow["$defs"]["PlannedTask"]["properties"]
    assert "human_interaction" in follow["$defs"]["PlannedTask"]["properties"]


def test_response_format_schemas_carry_no_titles() -> None:
    from mbxai._agent import Plan
    from mbxai._schema import response_format_for

    def annotations(node: object, inside_map: bool = False) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                if not inside_map and key == "title":
                    found.add(key)
                found |= annotations(value, key in ("properties", "$defs"))
        elif isinstance(node, list):
            for item in node:
                found |= annotations(item)
        return found

    schema = response_format_for(Plan).schema
    assert annotations(schema) == set()
    assert schema["$defs"]["PlannedTask"]["properties"]["title"] == {"type": "string"}
