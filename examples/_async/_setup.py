"""What the examples share: which model they talk to, and how they run.

Offline by default: the examples talk to :class:`mbxai.testing.FakeModel`, an
OpenAI-compatible fake that answers the way a cooperative model would (schema-valid JSON
for ``parse``, calls to the offered tools, short text), or with the replies an example
scripts for it. Set ``OPENROUTER_API_KEY`` to talk to OpenRouter instead (the model is
``MBXAI_EXAMPLE_MODEL``, default ``openai/gpt-4o-mini``); scripted replies are then ignored.

Written once for the async examples and generated into ``examples/_sync`` for the sync
ones, like the library itself.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import BaseModel

from mbxai import AsyncImageClient, AsyncOpenRouterClient
from mbxai.testing import FakeModel, Reply

MODEL = os.environ.get("MBXAI_EXAMPLE_MODEL", "openai/gpt-4o-mini")


def online() -> bool:
    """True when OPENROUTER_API_KEY is set: the examples then use OpenRouter."""
    return bool(os.environ.get("OPENROUTER_API_KEY"))


def chat_client(*offline_replies: Any, **options: Any) -> AsyncOpenRouterClient:
    """The chat client of an example: OpenRouter when a key is set, else the offline fake.

    ``offline_replies`` are what the fake answers first (see :mod:`mbxai.testing`), in
    order; after them, or when there are none, it answers cooperatively. ``options`` go to
    the client (``tracer_provider=``...).
    """
    if online():
        return AsyncOpenRouterClient(model=MODEL, **options)  # key from OPENROUTER_API_KEY
    return AsyncOpenRouterClient(token="offline", transport=FakeModel(offline_replies), **options)


def image_client() -> AsyncImageClient:
    """The image client of an example: OpenAI when OPENAI_API_KEY is set, else canned
    offline answers (every generation and edit returns a small orange PNG)."""
    if os.environ.get("OPENAI_API_KEY"):
        return AsyncImageClient()  # key from OPENAI_API_KEY
    return AsyncImageClient(api_key="offline", transport=httpx.MockTransport(_canned_images_api))


#: An 8x8 orange PNG, base64-encoded: what the canned Images API returns.
ORANGE_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP438OAFWEXHbQSANXCYsHiPhRjAAAAAElFTkSuQmCC"


def _canned_images_api(request: httpx.Request) -> httpx.Response:
    """OpenAI's Images API, canned, in the shape gpt-image-1 answers."""
    if not request.url.path.endswith(("/images/generations", "/images/edits")):
        return httpx.Response(404, json={"error": {"message": f"no route {request.url.path}"}})
    return httpx.Response(
        200,
        json={
            "created": int(time.time()),
            "data": [{"b64_json": ORANGE_PNG}],
            "size": "1024x1024",
            "quality": "high",
            "output_format": "png",
            "usage": {"input_tokens": 20, "output_tokens": 4160, "total_tokens": 4180},
        },
    )


def banner(title: str, *, images: bool = False) -> None:
    """Print what the example shows and which model answers."""
    if images:
        where = "OpenAI" if os.environ.get("OPENAI_API_KEY") else "a canned offline Images API"
    else:
        where = f"OpenRouter ({MODEL})" if online() else "the offline fake model"
    print(f"== {title} -- on {where}")


def run(main: Callable[[], Any]) -> None:
    """Run an example's ``main``: ``asyncio.run(main())`` for an async example, a plain
    call for its generated sync twin."""
    if inspect.iscoroutinefunction(main):
        asyncio.run(main())
    else:
        main()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app (a FastAPI app) on a free 127.0.0.1 port, in a background thread,
    until the block ends; yields the app's base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the server for {app!r} did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


# -- offline replies for the agent examples ---------------------------------------------
# The agent makes three kinds of call: one plan, one per task, one goal evaluation. These
# build the fake's replies to them, so an offline run tells a realistic story.


def task(
    task_id: str,
    title: str,
    *,
    depends_on: list[str] | None = None,
    tools: list[str] | None = None,
    human: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One planned task (``human``: a :func:`decision` or :func:`question` asked first)."""
    return {
        "id": task_id,
        "title": title,
        "description": title,
        "dependencies": depends_on or [],
        "tools": tools or [],
        "estimated_complexity": 2,
        "human_interaction": human,
    }


def decision(prompt: str, options: list[str]) -> dict[str, Any]:
    return {"type": "decision", "prompt": prompt, "options": options, "dialog_option_id": None}


def question(prompt: str) -> dict[str, Any]:
    return {"type": "question", "prompt": prompt, "options": [], "dialog_option_id": None}


def plan(goal: str, *tasks: dict[str, Any]) -> Reply:
    """The planning reply: requirement analysis, tool analysis and the todo list."""
    return Reply(
        content=json.dumps(
            {
                "requirement_analysis": {
                    "goal": goal,
                    "success_criteria": [goal],
                    "constraints": [],
                    "complexity_estimate": 3,
                },
                "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
                "tasks": list(tasks),
            }
        )
    )


def outcome(result: str) -> Reply:
    """A task's reply: it completed with ``result``."""
    return Reply(content=json.dumps({"status": "completed", "result": result, "question": None}))


def evaluation(final: BaseModel, feedback: str = "All success criteria are met.") -> Reply:
    """The goal evaluation's reply: achieved, with ``final`` as the final response."""
    return Reply(
        content=json.dumps(
            {
                "goal_evaluation": {
                    "goal_achieved": True,
                    "completion_percentage": 100,
                    "feedback": feedback,
                    "missing_elements": [],
                },
                "final_response": final.model_dump(mode="json"),
                "follow_up_tasks": [],
            }
        )
    )
