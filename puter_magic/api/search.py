"""Web search: Puter's ``web_search`` tool, the sources a reply cites, and the refusal of a
model that cannot search.

Puter takes ``{"type": "web_search"}`` in ``args.tools`` for models of OpenAI's Responses
provider; every other provider answers 400 "web_search tool requires the OpenAI Responses
provider" (protocol doc §2, §6). A reply cites its sources as ``url_citation`` annotations:
OpenAI's chat form ``{type, url_citation: {url, title, start_index, end_index}}`` on
``message.annotations``, or the flat Responses form ``{type, url, title}`` on a text part's
``annotations``; a stream carries them on a text line. Both forms are read; a source's URL
is data, never fetched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest, PuterError

__all__ = ["WEB_SEARCH_TOOL", "Source", "cannot_search", "sources_from", "with_web_search"]

WEB_SEARCH_TOOL: dict[str, str] = {"type": "web_search"}
_REFUSAL = "web_search tool requires"


@dataclass(frozen=True)
class Source:
    """A page a reply cites: its URL and title, as the reply gave them (untrusted)."""

    url: str
    title: str | None = None


def _source(annotation: Any) -> Source | None:
    if not isinstance(annotation, Mapping) or annotation.get("type") != "url_citation":
        return None
    inner = annotation.get("url_citation")
    holder: Mapping[str, Any] = inner if isinstance(inner, Mapping) else annotation
    url, title = holder.get("url"), holder.get("title")
    if not isinstance(url, str) or not url.strip():
        return None
    return Source(url.strip(), title.strip() if isinstance(title, str) and title.strip() else None)


def sources_from(*annotation_lists: Any) -> list[Source]:
    """The distinct sources of some ``annotations`` lists, in the order first cited."""
    seen: dict[str, Source] = {}
    for listed in annotation_lists:
        for annotation in listed if isinstance(listed, list) else []:
            found = _source(annotation)
            if found is not None and found.url not in seen:
                seen[found.url] = found
    return list(seen.values())


def message_sources(message: Mapping[str, Any]) -> list[Source]:
    """The sources of a reply's ``message``: its annotations and its text parts'."""
    content = message.get("content")
    parts = content if isinstance(content, list) else []
    return sources_from(
        message.get("annotations"), *(p.get("annotations") for p in parts if isinstance(p, Mapping))
    )


def with_web_search(tools: Iterable[Any] | None) -> list[Any]:
    """*tools* with Puter's ``web_search`` tool added (once)."""
    out = list(tools or [])
    if not any(isinstance(t, Mapping) and t.get("type") == "web_search" for t in out):
        out.append(dict(WEB_SEARCH_TOOL))
    return out


def cannot_search(err: BaseException) -> bool:
    """Whether *err* is Puter refusing web search for a model whose provider has none."""
    if not isinstance(err, PuterError) or _REFUSAL not in err.message:
        return False
    return isinstance(err, BadRequest) or err.status == 400
