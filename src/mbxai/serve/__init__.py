"""The agent as a service: ``create_app(agent, models)`` is an ASGI app (FastAPI) with an
HTTP API to start, read, answer, continue, list and delete runs, their events as
Server-Sent Events, an OpenAPI schema and a small web console. Extra ``mbxai[serve]``.

``python -m mbxai.serve module:agent`` runs it with uvicorn (``--help`` for options).
"""

from ._app import Answer, ErrorBody, RequestView, RunView, StartRun, create_app

__all__ = ["Answer", "ErrorBody", "RequestView", "RunView", "StartRun", "create_app"]
