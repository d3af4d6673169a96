"""``python -m mbxai.serve module:agent``: serve an agent with uvicorn.

``module:agent`` names an ``AsyncAgentClient`` or ``AgentClient`` (or a factory taking
no arguments that returns one, or an app already built with ``create_app``). The
final-response models are the ``--model module:Class`` options, else every Pydantic model
class defined in the agent's module. The bearer token comes from the environment
variable that ``--token-env`` names (never from the command line, where other users of
the machine could read it).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from typing import Any

from pydantic import BaseModel

from .._errors import ConfigurationError


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"expected module:attribute, got {target!r}")
    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ConfigurationError(f"{module_name!r} has no attribute {attribute!r}") from None
    return value


def _models_of(module_name: str) -> list[type[BaseModel]]:
    module = sys.modules[module_name]
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, BaseModel)
        and value.__module__ == module_name
    ]


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m mbxai.serve", description=__doc__)
    parser.add_argument("target", help="module:agent (an agent client, a factory or an app)")
    parser.add_argument("--model", action="append", default=[], help="module:Class (repeat)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--token-env", help="environment variable holding the bearer token")
    parser.add_argument("--no-console", action="store_true", help="serve the API only")
    args = parser.parse_args(argv)

    import uvicorn

    from ._app import create_app

    try:
        value = _load(args.target)
        if isinstance(value, type) and issubclass(value, BaseModel):
            parser.error(f"{args.target} is a model class; name the agent (module:agent)")
        if callable(value) and not hasattr(value, "agent") and not hasattr(value, "router"):
            value = value()
        if hasattr(value, "router"):  # an app already built: its own settings stand
            given = [
                flag
                for flag, used in (
                    ("--token-env", args.token_env),
                    ("--model", args.model),
                    ("--no-console", args.no_console),
                )
                if used
            ]
            if given:
                parser.error(
                    f"{', '.join(given)} apply to an agent target; {args.target} is an app "
                    "already built (pass them to create_app)"
                )
            app = value
        else:
            module_name = args.target.partition(":")[0]
            models = [_load(m) for m in args.model] or _models_of(module_name)
            token = os.environ.get(args.token_env) if args.token_env else None
            if args.token_env and not token:
                parser.error(f"environment variable {args.token_env} is not set")
            app = create_app(value, models, token=token, console=not args.no_console)
    except (ConfigurationError, ImportError) as exc:
        parser.error(str(exc))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
