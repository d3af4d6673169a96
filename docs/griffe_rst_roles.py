"""A Griffe extension for the API reference: Sphinx roles in docstrings become code spans.

The docstrings say ``:class:`~mbxai.OpenRouterClient``` and ``:meth:`parse``` (readable in
an editor and in ``help()``); Markdown would show the role names verbatim.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class RstRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code, obj.docstring.value)
