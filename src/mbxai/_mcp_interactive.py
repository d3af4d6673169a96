"""What MCP servers ask of the client, without I/O: sampling, elicitation and roots.

A server may ask the client to run a completion for it (``sampling/createMessage``), to
ask its user for input (``elicitation/create``) or to say which folders it may work in
(``roots/list``). None of it happens unless the application says so, per server, at
``register_mcp_server``:

* :class:`MCPSampling`: which mbxai chat client answers sampling requests, under which
  :class:`~mbxai.UsageLimits` (a server cannot spend past them), with which caps on the
  request (messages, characters, ``max_tokens``) and how many at once;
* an elicitation handler: a function of an :class:`ElicitationRequest` returning an
  :class:`ElicitationAnswer` (or the form's content), for plain clients; or
  :class:`HumanElicitation`, which turns each request into a
  :class:`~mbxai.agent.models.HumanInLoopRequest` answered by a
  :class:`~mbxai.agent.models.HumanInLoopResponse`, for agents and UIs;
* roots: paths or ``file://`` URIs (:func:`check_roots`).

The session owner (``mbxai._mcp_sessions``) does the I/O; the MCP client builds the
handlers from these.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from . import _json
from ._errors import ConfigurationError, HumanResponseError
from ._usage import Spent, UsageLimits, UsageMeter, check_limits
from .agent.models import (
    DialogOption,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInteractionType,
)

__all__ = [
    "ELICITATION_DIALOG",
    "ElicitationAnswer",
    "ElicitationHandler",
    "ElicitationRequest",
    "HumanElicitation",
    "HumanRequestSource",
    "MCPSampling",
    "SamplingRequest",
    "check_elicitation_handler",
    "check_roots",
    "completion_result",
    "elicitation_result",
    "sampling_request",
]

#: The dialog option a URL-mode elicitation is shown as (the UI opens the URL).
ELICITATION_DIALOG: Final = "mcp_elicitation_url"
_ACTIONS: Final = ("accept", "decline", "cancel")
_STOP_REASONS: Final = {"stop": "endTurn", "length": "maxTokens", "tool_calls": "toolUse"}
_MAX_STOP_SEQUENCES: Final = 4
_MAX_SCHEMA_BYTES: Final = 16_384
_MAX_MESSAGE_CHARS: Final = 4_000
_KEY: Final = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*[:=]\s*")
_NEXT_PAIR: Final = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_.-]*\s*[:=])")


# -- sampling -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SamplingRequest:
    """A server's sampling request as the chat client will send it (for ``approve=``).

    Attributes:
        server: The server's name.
        messages: The chat messages (the server's system prompt first, when allowed).
        max_tokens: What will be asked for (the server's, capped by the policy).
        temperature: The server's temperature, if any.
        stop: The server's stop sequences (at most 4).
    """

    server: str
    messages: list[dict[str, Any]]
    max_tokens: int
    temperature: float | None = None
    stop: list[str] = field(default_factory=list)


class MCPSampling:
    """Who answers an MCP server's sampling requests, and how much they may spend.

    Pass it as ``register_mcp_server(..., sampling=MCPSampling(client, ...))``. Without it
    a server's sampling requests are refused (and the client does not announce the
    capability).

    Args:
        client: The mbxai chat client that runs the completions: an
            :class:`~mbxai.AsyncOpenRouterClient` for :class:`~mbxai.AsyncMCPClient`, an
            :class:`~mbxai.OpenRouterClient` for :class:`~mbxai.MCPClient` (any client
            with ``create``). It is not closed with the MCP client.
        model: The model to use (default: the client's); the server's model hints are
            advisory and ignored.
        usage_limits: What all of this server's sampling requests together may spend
            (requests, tokens, cost), for the life of the registration. Past it, requests
            are refused: the server gets an error, nothing is sent. Required to bound
            something (default ``UsageLimits(max_requests=10)``).
        max_tokens: The most tokens one request may ask for (the server's ``maxTokens`` is
            capped to it).
        max_messages: The most messages one request may hold; longer ones are refused.
        max_chars: The most characters of text one request may hold; larger ones are refused.
        max_concurrent: Requests of this server running at once; more wait (within
            ``timeout``).
        timeout: Seconds one request may take, waiting included; past it the server gets
            an error.
        allow_system_prompt: Whether the server's system prompt is used (else dropped).
        approve: Called with each :class:`SamplingRequest` before it is sent (a quick,
            synchronous check: a human's consent, a policy); ``False`` refuses it.
    """

    def __init__(
        self,
        client: Any,
        *,
        model: str | None = None,
        usage_limits: UsageLimits | Mapping[str, Any] | None = None,
        max_tokens: int = 1024,
        max_messages: int = 50,
        max_chars: int = 100_000,
        max_concurrent: int = 2,
        timeout: float = 120.0,
        allow_system_prompt: bool = True,
        approve: Callable[[SamplingRequest], bool] | None = None,
    ) -> None:
        create = getattr(client, "create", None)
        if not callable(create):
            raise ConfigurationError(
                f"MCPSampling client must be an mbxai chat client (with create()), got "
                f"{type(client).__name__}"
            )
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise ConfigurationError(f"MCPSampling model must be a non-empty string, got {model!r}")
        limits = check_limits(
            dict(usage_limits) if isinstance(usage_limits, Mapping) else usage_limits,
            "MCPSampling usage_limits",
        )
        limits = limits if limits is not None else UsageLimits(max_requests=10)
        if (
            limits.max_requests is None
            and limits.max_total_tokens is None
            and limits.max_cost is None
        ):
            raise ConfigurationError(
                "MCPSampling usage_limits must bound something (max_requests, "
                "max_total_tokens or max_cost): a server could spend without end otherwise"
            )
        for name, value in (
            ("max_tokens", max_tokens),
            ("max_messages", max_messages),
            ("max_chars", max_chars),
            ("max_concurrent", max_concurrent),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"MCPSampling {name} must be an int >= 1, got {value!r}")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout < math.inf
        ):
            raise ConfigurationError(
                f"MCPSampling timeout must be a positive number of seconds, got {timeout!r}"
            )
        if not isinstance(allow_system_prompt, bool):
            raise ConfigurationError(
                f"MCPSampling allow_system_prompt must be True or False, got {allow_system_prompt!r}"
            )
        if approve is not None and not callable(approve):
            raise ConfigurationError(
                f"MCPSampling approve must be a callable, got {type(approve).__name__}"
            )
        self.client = client
        self.model = model
        self.usage_limits = limits
        self.max_tokens = max_tokens
        self.max_messages = max_messages
        self.max_chars = max_chars
        self.max_concurrent = max_concurrent
        self.timeout = float(timeout)
        self.allow_system_prompt = allow_system_prompt
        self.approve = approve
        #: Counts every request sent for the server, against ``usage_limits``.
        self.meter = UsageMeter(limits)
        #: Requests admitted so far (counted before any is sent, so concurrent requests
        #: cannot pass ``max_requests`` together).
        self.admitted = 0
        #: Requests refused (limits, caps, ``approve``).
        self.refused = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"MCPSampling(client={type(self.client).__name__}, model={self.model!r}, "
            f"usage_limits={self.usage_limits!r}, spent={self.spent!r})"
        )

    @property
    def spent(self) -> Spent:
        """What the server's sampling requests spent so far."""
        return self.meter.spent.model_copy()

    def admit(self) -> str | None:
        """Count one more request; why it may not run, or None."""
        with self._lock:
            limit = self.usage_limits.max_requests
            spent = self.meter.spent
            why = None
            if limit is not None and self.admitted >= limit:
                why = f"max_requests={limit}"
            elif (
                self.usage_limits.max_total_tokens is not None
                and spent.total_tokens >= self.usage_limits.max_total_tokens
            ):
                why = f"max_total_tokens={self.usage_limits.max_total_tokens}"
            elif (
                self.usage_limits.max_cost is not None and spent.cost >= self.usage_limits.max_cost
            ):
                why = f"max_cost={self.usage_limits.max_cost:g}"
            if why is None:
                self.admitted += 1
                return None
            self.refused += 1
            return f"the client's sampling limit for this server is reached ({why})"

    def refuse(self) -> None:
        with self._lock:
            self.refused += 1


def sampling_request(server: str, params: Any, policy: MCPSampling) -> SamplingRequest:
    """A ``CreateMessageRequestParams`` as chat messages, within the policy's caps.

    Raises ``ValueError`` (the server is told why) for a request over the caps or with
    content the client does not sample (tool use: the client does not announce it).
    """
    messages: list[dict[str, Any]] = []
    chars = 0
    system = getattr(params, "system_prompt", None)
    if system and policy.allow_system_prompt:
        messages.append({"role": "system", "content": str(system)})
        chars += len(system)
    given = list(params.messages or ())
    if not given:
        raise ValueError("the request has no messages")
    if len(given) > policy.max_messages:
        raise ValueError(
            f"the request has {len(given)} messages, more than the client accepts "
            f"({policy.max_messages})"
        )
    for message in given:
        role = message.role if message.role in ("user", "assistant") else "user"
        blocks = message.content if isinstance(message.content, list) else [message.content]
        parts: list[dict[str, Any]] = []
        for block in blocks:
            kind = getattr(block, "type", None)
            if kind == "text":
                text = str(block.text)
                chars += len(text)
                parts.append({"type": "text", "text": text})
            elif kind == "image" and role == "user":
                chars += len(block.data)
                url = f"data:{block.mime_type};base64,{block.data}"
                parts.append({"type": "image_url", "image_url": {"url": url}})
            elif kind in ("image", "audio"):
                parts.append({"type": "text", "text": f"[{kind} omitted]"})
            else:
                raise ValueError(f"content of type {kind!r} is not sampled by this client")
            if chars > policy.max_chars:
                raise ValueError(
                    f"the request holds more than {policy.max_chars} characters, more than "
                    "the client accepts"
                )
        if all(part["type"] == "text" for part in parts):
            content: Any = "\n".join(part["text"] for part in parts)
        else:
            content = parts
        messages.append({"role": role, "content": content})
    requested = params.max_tokens
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise ValueError(f"maxTokens must be a positive integer, got {requested!r}")
    stop = [str(s) for s in (params.stop_sequences or ())][:_MAX_STOP_SEQUENCES]
    temperature = params.temperature
    if temperature is not None and not (
        isinstance(temperature, int | float) and 0 <= temperature <= 2
    ):
        temperature = None
    return SamplingRequest(
        server=server,
        messages=messages,
        max_tokens=min(requested, policy.max_tokens),
        temperature=temperature,
        stop=stop,
    )


def completion_result(completion: Any) -> dict[str, Any]:
    """A chat completion as a ``CreateMessageResult`` (wire form)."""
    choice = completion.choices[0] if completion.choices else None
    text = completion.content or ""
    reason = getattr(choice, "finish_reason", None) if choice is not None else None
    result: dict[str, Any] = {
        "role": "assistant",
        "content": {"type": "text", "text": text},
        "model": completion.model or "unknown",
    }
    if reason:
        result["stopReason"] = _STOP_REASONS.get(str(reason), str(reason))
    return result


# -- elicitation --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ElicitationRequest:
    """A server's request for input from the user (``elicitation/create``).

    Attributes:
        server: The server's name.
        message: What the server says it needs (shown to the user; it is the server's
            text, not the client's).
        mode: ``"form"`` (fill in ``requested_schema``) or ``"url"`` (open ``url``: a
            login, a payment; the answer is the user's consent).
        requested_schema: For forms: a flat JSON schema of strings, numbers, integers,
            booleans and enums.
        url: For ``"url"`` mode: where to send the user.
        id: A stable id: the same question of the same server has the same id (an agent's
            human request carries it).
    """

    server: str
    message: str
    mode: Literal["form", "url"] = "form"
    requested_schema: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None
    id: str = ""

    @classmethod
    def of(cls, server: str, params: Any) -> ElicitationRequest:
        """An ``ElicitRequestParams`` as a request (its size bounded)."""
        mode: Literal["form", "url"] = "url" if getattr(params, "mode", None) == "url" else "form"
        message = str(getattr(params, "message", ""))[:_MAX_MESSAGE_CHARS]
        schema: dict[str, Any] = {}
        url = None
        if mode == "form":
            raw = getattr(params, "requested_schema", None) or {}
            if len(_json.dumps(raw)) > _MAX_SCHEMA_BYTES:
                raise ValueError(f"the requested schema is larger than {_MAX_SCHEMA_BYTES} bytes")
            schema = dict(raw)
        else:
            url = str(params.url)
            if urlsplit(url).scheme not in ("https", "http"):
                raise ValueError("the elicitation URL is not an http(s) URL")
        fingerprint = hashlib.sha256(
            _json.dumps([server, mode, message, schema, url]).encode()
        ).hexdigest()[:16]
        return cls(server, message, mode, schema, url, f"elicit_{fingerprint}")

    @property
    def fields(self) -> dict[str, Mapping[str, Any]]:
        """The form's fields (name -> its schema)."""
        properties = self.requested_schema.get("properties") or {}
        return {str(k): v for k, v in properties.items() if isinstance(v, Mapping)}

    @property
    def required(self) -> list[str]:
        required = self.requested_schema.get("required") or []
        return [str(name) for name in required if isinstance(name, str)]

    def to_human_request(self) -> HumanInLoopRequest:
        """This request for a human: a ``QUESTION`` (form; answer with the fields as JSON or
        ``name:value`` pairs in ``answer`` or ``additional_context``) or a ``DIALOG_OPTION``
        (URL mode; any answer but ``decision="decline"``/``"cancel"`` is consent)."""
        prompt = f"The MCP server {self.server!r} asks: {self.message}"
        if self.mode == "url":
            option = DialogOption(
                id=ELICITATION_DIALOG,
                title=f"{self.server}: open a link",
                description=self.message,
                parameters={"server": self.server, "url": self.url, "mode": "url"},
            )
            return HumanInLoopRequest(
                id=self.id,
                interaction_type=HumanInteractionType.DIALOG_OPTION,
                prompt=prompt,
                dialog_option_id=option.id,
                dialog_options=[option],
                options=["accept", "decline", "cancel"],
                context=f"Open {self.url}, then answer (decision='decline' to refuse).",
            )
        lines = []
        for name, schema in self.fields.items():
            kind = schema.get("type", "string")
            extra = f" one of {list(schema['enum'])}" if "enum" in schema else ""
            need = " (required)" if name in self.required else ""
            description = f": {schema['description']}" if schema.get("description") else ""
            lines.append(f"- {name} ({kind}{extra}){need}{description}")
        return HumanInLoopRequest(
            id=self.id,
            interaction_type=HumanInteractionType.QUESTION,
            prompt=prompt,
            options=["accept", "decline", "cancel"],
            context="Answer with the fields as JSON or name:value pairs "
            "(decision='decline' to refuse):\n" + "\n".join(lines),
        )


@dataclass(frozen=True, slots=True)
class ElicitationAnswer:
    """The user's answer to an :class:`ElicitationRequest`.

    Attributes:
        action: ``"accept"`` (with ``content`` for forms), ``"decline"`` (the user said
            no) or ``"cancel"`` (dismissed, no answer).
        content: The form's fields.
    """

    action: Literal["accept", "decline", "cancel"]
    content: Mapping[str, Any] | None = None

    @classmethod
    def accept(cls, content: Mapping[str, Any] | None = None) -> ElicitationAnswer:
        return cls("accept", dict(content) if content is not None else None)

    @classmethod
    def decline(cls) -> ElicitationAnswer:
        return cls("decline")

    @classmethod
    def cancel(cls) -> ElicitationAnswer:
        return cls("cancel")


#: A plain client's elicitation handler: sync or async, given the request; it returns an
#: :class:`ElicitationAnswer`, the form's content (a mapping: accepted), ``True`` (URL
#: mode: accepted) or ``None`` / ``False`` (cancelled / declined).
ElicitationHandler = Callable[[ElicitationRequest], Any]


def check_elicitation_handler(value: Any) -> Any:
    if value is not None and not callable(value):
        raise ConfigurationError(
            "elicitation must be a callable taking an ElicitationRequest (or a "
            f"HumanElicitation), got {type(value).__name__}"
        )
    return value


def elicitation_result(request: ElicitationRequest, answer: Any) -> dict[str, Any]:
    """A handler's answer as an ``ElicitResult`` (wire form), the content checked against
    the requested schema (coerced from text where the schema says a number or a flag).

    Raises ``ValueError`` for an answer that is none of the accepted shapes or content
    that does not fit the form.
    """
    if answer is None:
        answer = ElicitationAnswer.cancel()
    elif answer is True:
        answer = ElicitationAnswer.accept()
    elif answer is False:
        answer = ElicitationAnswer.decline()
    elif isinstance(answer, Mapping):
        answer = ElicitationAnswer.accept(answer)
    if not isinstance(answer, ElicitationAnswer) or answer.action not in _ACTIONS:
        raise ValueError(
            f"an elicitation handler returns an ElicitationAnswer, a mapping, True, False or "
            f"None, not {type(answer).__name__}"
        )
    if answer.action != "accept":
        return {"action": answer.action}
    if request.mode == "url":
        return {"action": "accept"}
    return {"action": "accept", "content": _form_content(request, answer.content or {})}


def _form_content(request: ElicitationRequest, given: Mapping[str, Any]) -> dict[str, Any]:
    fields = request.fields
    unknown = sorted(set(map(str, given)) - set(fields))
    if unknown:
        raise ValueError(f"the form has no field(s) {unknown}")
    missing = [name for name in request.required if given.get(name) in (None, "")]
    if missing:
        raise ValueError(f"the form's required field(s) {missing} are missing")
    content: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        content[str(name)] = _field_value(str(name), fields[str(name)], value)
    return content


def _field_value(name: str, schema: Mapping[str, Any], value: Any) -> Any:
    kind = schema.get("type", "string")
    if kind == "array":
        items = (
            value if isinstance(value, list) else [part.strip() for part in str(value).split(",")]
        )
        return [str(item) for item in items]
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "y"):
            return True
        if text in ("false", "no", "0", "n"):
            return False
        raise ValueError(f"field {name!r} must be true or false, got {value!r:.60}")
    if kind in ("integer", "number"):
        number: float | int
        try:
            if isinstance(value, bool):
                raise ValueError
            number = value if isinstance(value, int | float) else float(str(value).strip())
        except ValueError:
            raise ValueError(f"field {name!r} must be a number, got {value!r:.60}") from None
        if not math.isfinite(number):
            raise ValueError(f"field {name!r} must be a finite number")
        if kind == "integer":
            if number != int(number):
                raise ValueError(f"field {name!r} must be an integer, got {value!r:.60}")
            number = int(number)
        for bound, check in (("minimum", number.__ge__), ("maximum", number.__le__)):
            if bound in schema and not check(schema[bound]):
                raise ValueError(f"field {name!r} must be {bound} {schema[bound]}")
        return number
    text = value if isinstance(value, str) else str(value)
    choices = schema.get("enum")
    if isinstance(choices, list) and text not in choices:
        raise ValueError(f"field {name!r} must be one of {choices}, got {text!r:.60}")
    for bound, check in (("minLength", len(text).__ge__), ("maxLength", len(text).__le__)):
        if bound in schema and not check(schema[bound]):
            raise ValueError(f"field {name!r} breaks {bound}={schema[bound]}")
    return text


def _pairs(text: str) -> dict[str, Any]:
    """``additional_context``/``answer`` text as fields: a JSON object, or ``name:value``
    pairs separated by commas (a comma ends a value only where another pair starts)."""
    stripped = text.strip()
    if not stripped:
        return {}
    if stripped.startswith("{"):
        data = _json.loads(stripped)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return {str(k): v for k, v in data.items()}
    pairs: dict[str, Any] = {}
    pos = 0
    while pos < len(text):
        key = _KEY.match(text, pos)
        if key is None:
            raise ValueError(f"expected name:value pairs, got {text[pos:][:40]!r}")
        found = _NEXT_PAIR.search(text, key.end())
        end = found.start() if found else len(text)
        pairs[key.group(1)] = text[key.end() : end].strip()
        pos = end + 1
    return pairs


@runtime_checkable
class HumanRequestSource(Protocol):
    """What an agent asks of a client whose work may wait for a human outside its tool
    approvals: MCP elicitations and OAuth authorizations (the MCP client is one)."""

    def pending_human_requests(self) -> list[HumanInLoopRequest]:
        """The requests waiting for a human now."""
        ...

    def answer_human_request(self, response: HumanInLoopResponse) -> bool:
        """Deliver a human's answer; whether it was for one of this source's requests
        (raises :class:`~mbxai.HumanResponseError` for an answer that does not fit)."""
        ...


class HumanElicitation:
    """Elicitations answered by a human through the agent's human-in-the-loop requests.

    Pass one as ``register_mcp_server(..., elicitation=HumanElicitation())``. When a
    server asks for input and no answer is known yet, the question becomes a pending
    :class:`~mbxai.agent.models.HumanInLoopRequest` (:meth:`pending_human_requests`) and,
    after ``wait`` seconds without an answer, the server is told the user cancelled. Once
    the human answers (:meth:`answer_human_request` with the
    :class:`~mbxai.agent.models.HumanInLoopResponse`), the server's next identical
    question (the retried tool call) gets that answer at once, exactly once.

    Args:
        wait: Seconds to wait for an answer before telling the server "cancel" (0: answer
            at once; a UI answering live may set some). Bounded: at most 600.
        max_pending: The most questions pending at once; a server asking more is told
            "cancel" at once.
    """

    def __init__(self, *, wait: float = 0.0, max_pending: int = 32) -> None:
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= 600:
            raise ConfigurationError(
                f"HumanElicitation wait must be a number of seconds from 0 to 600, got {wait!r}"
            )
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ConfigurationError(
                f"HumanElicitation max_pending must be an int >= 1, got {max_pending!r}"
            )
        self.wait = float(wait)
        self.max_pending = max_pending
        self._pending: dict[str, ElicitationRequest] = {}
        self._answers: dict[str, ElicitationAnswer] = {}
        self._changed = threading.Condition()

    def __repr__(self) -> str:
        return f"HumanElicitation(pending={len(self._pending)}, answered={len(self._answers)})"

    def __call__(self, request: ElicitationRequest) -> ElicitationAnswer | None:
        """The elicitation handler (runs in a worker thread; waits at most ``wait``)."""
        deadline = time.monotonic() + self.wait
        with self._changed:
            if request.id not in self._answers:
                if request.id not in self._pending and len(self._pending) >= self.max_pending:
                    return ElicitationAnswer.cancel()
                self._pending[request.id] = request
            while request.id not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0:
                    return ElicitationAnswer.cancel()
                self._changed.wait(left)
            self._pending.pop(request.id, None)
            return self._answers.pop(request.id)

    def pending_human_requests(self) -> list[HumanInLoopRequest]:
        """The questions waiting for a human, as agent requests."""
        with self._changed:
            return [request.to_human_request() for request in self._pending.values()]

    def answer_human_request(self, response: HumanInLoopResponse) -> bool:
        """Take a human's answer to one of :meth:`pending_human_requests`.

        ``decision="decline"`` or ``"cancel"`` says so; otherwise the fields come from
        ``answer`` or ``additional_context`` (a JSON object or ``name:value`` pairs) and
        are checked against the form (:class:`~mbxai.HumanResponseError` if they do not
        fit, and nothing changes). Returns False when the id is none of this handler's.
        """
        with self._changed:
            request = self._pending.get(response.interaction_id)
            if request is None:
                return False
            answer = _human_answer(request, response)
            self._pending.pop(request.id, None)
            self._answers[request.id] = answer
            self._changed.notify_all()
            return True


def _human_answer(request: ElicitationRequest, response: HumanInLoopResponse) -> ElicitationAnswer:
    decision = (response.decision or "").strip().lower()
    if decision in ("decline", "cancel"):
        return ElicitationAnswer(decision)  # type: ignore[arg-type]
    if decision not in ("", "accept"):
        raise HumanResponseError(
            f"interaction {request.id!r}: decision must be accept, decline or cancel, got "
            f"{response.decision!r}"
        )
    if request.mode == "url":
        return ElicitationAnswer.accept()
    text = (
        response.answer
        if response.answer and response.answer.strip()
        else response.additional_context
    )
    try:
        content = _pairs(text or "")
        elicitation_result(request, ElicitationAnswer.accept(content))  # checks it
    except ValueError as exc:
        raise HumanResponseError(f"interaction {request.id!r}: {exc}") from None
    return ElicitationAnswer.accept(content)


# -- roots ------------------------------------------------------------------------------------


def check_roots(value: Any) -> tuple[tuple[str, str | None], ...] | None:
    """``roots=`` as ``(file:// URI, name)`` pairs: paths (made absolute), ``file://`` URIs,
    or ``(path or URI, name)`` pairs."""
    if value is None:
        return None
    if isinstance(value, str | bytes | Path) or not isinstance(value, Iterable):
        raise ConfigurationError(
            "roots must be a list of paths, file:// URIs or (path, name) pairs, got "
            f"{type(value).__name__}"
        )
    roots: list[tuple[str, str | None]] = []
    for item in value:
        name: str | None = None
        if isinstance(item, tuple) and len(item) == 2:
            item, name = item
            if name is not None and not isinstance(name, str):
                raise ConfigurationError(f"a root's name must be a string, got {name!r}")
        if isinstance(item, Path):
            uri = item.expanduser().resolve().as_uri()
        elif isinstance(item, str) and item.startswith("file://"):
            uri = item
        elif isinstance(item, str) and item:
            uri = Path(item).expanduser().resolve().as_uri()
        else:
            raise ConfigurationError(
                f"a root must be a path or a file:// URI, got {item!r:.60} ({type(item).__name__})"
            )
        roots.append((uri, name))
    return tuple(roots)
