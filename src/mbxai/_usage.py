"""Usage limits: how many requests, tokens and how much cost one call may spend.

A call given ``usage_limits=`` (or made on a client with a default) runs under a
:class:`UsageMeter`, kept in a context variable so that every request made on its behalf
counts, however deep: the chat client counts each HTTP attempt (retries included) and
adds each response's usage, so a tool loop's rounds, ``parse``'s re-asks and an agent's
steps all count against the limits of the call that started them. Meters nest: an inner
call with limits of its own counts against both.

A request that would go past ``max_requests`` is never sent. Tokens and cost are known
only once a response is in: past ``max_total_tokens`` or ``max_cost``, the next request
is not sent. Either way :class:`~mbxai.UsageLimitExceeded` is raised, carrying what was
spent. Cost is the ``usage.cost`` the endpoint reports (OpenRouter does); a meter with
``max_cost`` that sees a response without a cost raises :class:`ConfigurationError`
rather than let the limit pass unchecked.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from ._errors import ConfigurationError, UsageLimitExceeded
from ._types import Usage

__all__ = [
    "Spent",
    "UsageLimits",
    "UsageMeter",
    "activate",
    "check_limits",
    "combine",
    "current_meter",
    "metering",
]


class UsageLimits(BaseModel):
    """Upper bounds on what one call (a chat, a tool loop, an agent session) may spend.

    Attributes:
        max_requests: HTTP requests sent to the model, every attempt counted.
        max_total_tokens: Prompt and completion tokens, summed over every response.
        max_cost: The endpoint's reported cost (OpenRouter: credits), summed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    max_requests: int | None = None
    max_total_tokens: int | None = None
    max_cost: float | None = None

    @field_validator("max_requests", "max_total_tokens", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("must be an int")
        if value is not None and value < 0:
            raise ValueError("must be >= 0")
        return value

    @field_validator("max_cost", mode="before")
    @classmethod
    def _cost(cls, value: Any) -> Any:
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError("must be a finite number")
        if value < 0:
            raise ValueError("must be >= 0")
        return float(value)


class Spent(BaseModel):
    """What was spent so far (kept in an agent's session across resumes)."""

    model_config = ConfigDict(defer_build=True)

    requests: int = 0
    total_tokens: int = 0
    cost: float = 0.0


def check_limits(value: Any, name: str = "usage_limits") -> UsageLimits | None:
    """``value`` if it is ``None`` or a :class:`UsageLimits` (a dict of its fields too)."""
    if value is None or isinstance(value, UsageLimits):
        return value
    if isinstance(value, dict):
        try:
            return UsageLimits.model_validate(value)
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None
    raise ConfigurationError(f"{name} must be a UsageLimits, got {type(value).__name__}")


def combine(*limits: UsageLimits | None) -> UsageLimits | None:
    """The limits that hold when all of ``limits`` do (the lowest of each)."""
    given = [limit for limit in limits if limit is not None]
    if not given:
        return None
    if len(given) == 1:
        return given[0]

    def lowest(name: str) -> Any:
        values = [getattr(limit, name) for limit in given if getattr(limit, name) is not None]
        return min(values) if values else None

    return UsageLimits(
        max_requests=lowest("max_requests"),
        max_total_tokens=lowest("max_total_tokens"),
        max_cost=lowest("max_cost"),
    )


class UsageMeter:
    """Counts one call's requests and usage against its limits (and its parent's)."""

    __slots__ = ("_parent", "limits", "spent", "usage")

    def __init__(
        self,
        limits: UsageLimits | None,
        parent: UsageMeter | None = None,
        start: Spent | None = None,
    ) -> None:
        self.limits = limits or UsageLimits()
        self._parent = parent
        self.spent = start.model_copy() if start is not None else Spent()
        #: Every usage reported under this meter, summed (``None`` until one arrives).
        self.usage: Usage | None = None

    def __repr__(self) -> str:
        return f"UsageMeter(limits={self.limits!r}, spent={self.spent!r})"

    def before_request(self) -> None:
        """Count a request about to be sent; raise instead when it may not be."""
        meter: UsageMeter | None = self
        while meter is not None:
            meter._check_next()
            meter = meter._parent
        meter = self
        while meter is not None:
            meter.spent.requests += 1
            meter = meter._parent

    def _check_next(self) -> None:
        limits, spent = self.limits, self.spent
        if limits.max_requests is not None and spent.requests + 1 > limits.max_requests:
            self._exceeded(f"max_requests={limits.max_requests}")
        if limits.max_total_tokens is not None and spent.total_tokens > limits.max_total_tokens:
            self._exceeded(f"max_total_tokens={limits.max_total_tokens}")
        if limits.max_cost is not None and spent.cost > limits.max_cost:
            self._exceeded(f"max_cost={limits.max_cost:g}")

    def _exceeded(self, which: str) -> None:
        raise UsageLimitExceeded(
            f"usage limit reached ({which}): {self.spent.requests} request(s), "
            f"{self.spent.total_tokens} token(s), cost {self.spent.cost:g} spent",
            limit=which.partition("=")[0],
            usage=self.usage,
            requests=self.spent.requests,
        )

    def after_response(self, usage: Usage | None) -> None:
        """Add a response's usage (tokens and cost)."""
        meter: UsageMeter | None = self
        while meter is not None:
            if meter.limits.max_cost is not None and (usage is None or usage.cost is None):
                raise ConfigurationError(
                    "usage_limits has max_cost, but the endpoint reported no cost for a "
                    "response (OpenRouter reports it; other endpoints may not): drop max_cost "
                    "or use max_total_tokens"
                )
            if usage is not None:
                meter.spent.total_tokens += usage.total_tokens
                meter.spent.cost += usage.cost or 0.0
                meter.usage = usage + meter.usage
            meter = meter._parent

    @property
    def wants_cost(self) -> bool:
        """Whether a limit of this meter (or a parent's) needs the endpoint's cost."""
        meter: UsageMeter | None = self
        while meter is not None:
            if meter.limits.max_cost is not None:
                return True
            meter = meter._parent
        return False


_meter: contextvars.ContextVar[UsageMeter | None] = contextvars.ContextVar(
    "mbxai_usage_meter", default=None
)


def current_meter() -> UsageMeter | None:
    """The meter of the call running now, if it has limits (or an agent counts)."""
    return _meter.get()


@contextlib.contextmanager
def metering(
    limits: UsageLimits | None, *, start: Spent | None = None, always: bool = False
) -> Iterator[UsageMeter | None]:
    """Run the block under a new meter for ``limits`` (nested in the current one); no new
    meter when ``limits`` is ``None`` unless ``always`` (an agent counts its session)."""
    if limits is None and not always:
        yield _meter.get()
        return
    meter = UsageMeter(limits, parent=_meter.get(), start=start)
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


@contextlib.contextmanager
def activate(meter: UsageMeter | None) -> Iterator[None]:
    """Run the block under ``meter`` again (a stream's later rounds, after its call
    returned); ``None`` leaves the current meter as it is."""
    if meter is None:
        yield
        return
    token = _meter.set(meter)
    try:
        yield
    finally:
        _meter.reset(token)
