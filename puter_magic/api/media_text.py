"""What speech-to-text and OCR return: text, and the server's segments, words, blocks and pages.

Both accept every reply shape recorded or documented for them (``puter-protocol.md`` §7): a
transcription object or a bare string (``response_format: "text"``); Textract's ``blocks`` or
Mistral's ``pages``, ``blocks`` and ``text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedResponse
from .protocol import opt_number

__all__ = ["OCRResult", "Transcript", "ocr_result", "transcript"]


@dataclass
class Transcript:
    """What ``speech2txt`` heard: ``text``, and ``segments``/``words`` where the server gave them."""

    text: str
    language: str | None = None
    duration: float | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    words: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    raw: Any = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text


@dataclass
class OCRResult:
    """What ``img2txt`` read: ``text`` (one line per block), the server's ``blocks`` and ``pages``."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    raw: Any = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def transcript(result: Any) -> Transcript:
    """A ``transcribe``/``translate`` result: a string (``response_format: text``) or an object."""
    if isinstance(result, str):
        return Transcript(result, raw=result)
    if not isinstance(result, dict) or not isinstance(result.get("text"), str):
        raise MalformedResponse("the transcription reply has no text")
    language = result.get("language")
    model = result.get("model")
    return Transcript(
        result["text"],
        language=language if isinstance(language, str) else None,
        duration=opt_number(result.get("duration_seconds", result.get("duration"))),
        segments=_dicts(result.get("segments")),
        words=_dicts(result.get("words")),
        model=model if isinstance(model, str) else None,
        raw=result,
    )


def ocr_result(result: Any) -> OCRResult:
    """A ``recognize`` result, Textract's (``blocks``) or Mistral's (``pages``, ``blocks``, ``text``).

    The text is built as puter.js builds it: the ``text`` of blocks whose type starts with
    ``text/``, one per line; without such blocks, the pages' Markdown.
    """
    if isinstance(result, str):
        return OCRResult(result, raw=result)
    if not isinstance(result, dict):
        raise MalformedResponse(f"the OCR reply is a {type(result).__name__}, not an object")
    blocks = _dicts(result.get("blocks"))
    pages = _dicts(result.get("pages"))
    lines = [
        b["text"]
        for b in blocks
        if str(b.get("type", "")).startswith("text/") and isinstance(b.get("text"), str)
    ]
    if lines:
        text = "\n".join(lines)
    elif pages:
        text = "\n\n".join(p["markdown"] for p in pages if isinstance(p.get("markdown"), str))
    elif isinstance(result.get("text"), str):
        text = result["text"]
    elif "blocks" in result or "pages" in result:
        text = ""
    else:
        raise MalformedResponse("the OCR reply has neither blocks nor pages")
    model = result.get("model")
    return OCRResult(text, blocks, pages, model if isinstance(model, str) else None, raw=result)
