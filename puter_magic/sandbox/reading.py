"""The sandbox's listening and reading: speech-to-text, OCR, and what the tutor sees in images.

Each reads what it is sent on its own (the sandbox shares no code with the client): a WAV's
kept text and length (:func:`~.sound.hear`), a picture's caption (:func:`~.pixels.read_caption`),
an image's format and pixel size from its header (:func:`~.pixels.image_info`).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes, urlsplit

from .media_files import MediaReply, failure, served
from .pixels import image_info, png_text, read_caption
from .sound import WORD_GAP, WORD_SECONDS, hear

if TYPE_CHECKING:
    from . import Sandbox

__all__ = ["describe_images", "ocr", "speech2txt"]

MAX_INPUT = 26_214_400
STT_MODELS = {
    "gpt-4o-mini-transcribe": ["json", "text"],
    "gpt-4o-transcribe": ["json", "text"],
    "gpt-4o-transcribe-diarize": ["json", "text", "diarized_json"],
    "whisper-1": ["json", "text", "srt", "verbose_json", "vtt"],
}
SAMPLE_TRANSCRIPT = {
    "text": "Hello! This is a sample transcription returned while test mode is enabled.",
    "language": "en",
    "duration_seconds": 2,
    "words": [
        {"start": 0, "end": 0.5, "text": "Hello"},
        {"start": 1.1, "end": 2, "text": "This is a sample transcription."},
    ],
}
SAMPLE_OCR = {
    "blocks": [
        {
            "type": "text/puter:sample-output",
            "confidence": 1,
            "text": "test_mode is enabled; this is a sample OCR response.",
        }
    ]
}


def _input(sandbox: Sandbox, value: Any, limit: int | None) -> bytes:
    """The bytes of a file input, as Puter's ``loadFileInput`` takes them."""
    if isinstance(value, dict) or (isinstance(value, str) and not value.startswith(("data:", "http"))):
        path = (
            value.get("path") or value.get("uid") or value.get("uuid") if isinstance(value, dict) else value
        )
        raise failure(f"File not found: {path} (the sandbox has no Puter storage)", "not_found", 404)
    if not isinstance(value, str):
        raise failure("Invalid file input")
    if value.startswith("data:"):
        header, _, payload = value.partition(",")
        try:
            data = base64.b64decode(payload) if header.endswith(";base64") else unquote_to_bytes(payload)
        except (binascii.Error, ValueError):
            raise failure("Invalid data URL") from None
    else:
        local = urlsplit(value)
        found = served(sandbox, local.path) if value.startswith(sandbox.origin) else None
        if found is None:
            raise failure(f"Failed to fetch {value[:100]}: the sandbox fetches nothing from the network")
        data = found[0]
    if limit is not None and len(data) > limit:
        raise failure(f"Input exceeds max size ({limit} bytes)", "storage_limit_reached", 413)
    return data


def speech2txt(sandbox: Sandbox, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
    if method == "list":
        return MediaReply(["openai", "xai"])
    if method == "list_models":
        return MediaReply(
            [
                {
                    "id": m,
                    "name": m,
                    "type": "transcription",
                    "response_formats": formats,
                    "supports_prompt": m != "gpt-4o-transcribe-diarize",
                    "supports_logprobs": m.startswith("gpt-4o") and m != "gpt-4o-transcribe-diarize",
                }
                for m, formats in STT_MODELS.items()
            ]
        )
    default = "whisper-1" if method == "translate" else "gpt-4o-mini-transcribe"
    model = args.get("model") or default
    if args.get("stream"):
        raise failure("Streaming transcription is not yet supported")
    if args.get("test_mode"):
        return MediaReply({**SAMPLE_TRANSCRIPT, "model": default})
    if not sandbox.media_providers:
        raise failure("OpenAI API key not configured", "internal_error", 500)
    if model not in STT_MODELS:
        raise failure(f"Model not found: {model}")
    form = args.get("response_format") or ("diarized_json" if model.endswith("diarize") else "json")
    if form not in STT_MODELS[model]:
        raise failure(f"response_format '{form}' is not supported by {model}")
    if "file" not in args:
        raise failure("Missing `file`")
    text, seconds = hear(_input(sandbox, args["file"], MAX_INPUT))
    if seconds is None and text is None:
        raise failure(
            "The audio file could not be decoded or its format is not supported", "upstream_bad_request"
        )
    if text is None:
        text = f"(no words: the sandbox only reads back its own speech; {seconds or 0:.1f} s of audio)"
    words, start = [], 0.0
    for word in text.split():
        words.append({"start": round(start, 2), "end": round(start + WORD_SECONDS, 2), "text": word})
        start += WORD_SECONDS + WORD_GAP
    if form == "text":
        return MediaReply(text)
    result: dict[str, Any] = {
        "text": text,
        "language": args.get("language") or "en",
        "duration_seconds": seconds,
    }
    result.update(words=words, model=model)
    if form in ("verbose_json", "diarized_json"):
        result["segments"] = [{"id": 0, "start": 0.0, "end": seconds, "text": text}]
    return MediaReply(result)


def ocr(sandbox: Sandbox, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
    if args.get("test_mode"):
        return MediaReply(SAMPLE_OCR)
    if not sandbox.media_providers:
        raise failure("No OCR provider configured", "internal_error", 500)
    source = args.get("source", args.get("file"))
    if source is None:
        raise failure("Missing `source`")
    name = str(args.get("provider") or {"mistral": "mistral"}.get(driver, "aws-textract")).lower()
    if name not in ("aws-textract", "aws", "textract", "mistral", "mistral-ocr"):
        raise failure(f"OCR provider not found: {name}")
    data = _input(sandbox, source, None)
    info = image_info(data)
    if info is None and not data.startswith(b"%PDF-"):
        raise failure("Unsupported document format: expected an image or a PDF", "upstream_bad_request")
    lines = (read_caption(data) or "").splitlines() if info else []
    if not name.startswith("mistral"):
        blocks = [{"type": "text/textract:LINE", "confidence": 99.5, "text": line} for line in lines]
        return MediaReply({"blocks": blocks})
    width, height = (info[1], info[2]) if info else (0, 0)
    text = "\n".join(lines)
    return MediaReply(
        {
            "model": "mistral-ocr-latest",
            "pages": [
                {
                    "index": 0,
                    "markdown": text,
                    "images": [],
                    "dimensions": {"dpi": 72, "width": width, "height": height},
                }
            ],
            "usage_info": {"pages_processed": 1, "doc_size_bytes": len(data)},
            "blocks": [{"type": "text/mistral:LINE", "text": line, "page": 0} for line in lines],
            "text": text,
        }
    )


# -- what the tutor sees -------------------------------------------------------------------------


def _image_parts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    users = [m for m in messages if isinstance(m, dict) and m.get("role", "user") == "user"]
    content = users[-1].get("content") if users else None
    parts = [content] if isinstance(content, dict) else content if isinstance(content, list) else []
    return [
        p
        for p in parts
        if isinstance(p, dict) and (p.get("type") in ("image_url", "file") or "image_url" in p)
    ]


def describe_images(messages: list[dict[str, Any]]) -> str:
    """A Markdown note on the images in the last user message: count, format, pixel size."""
    parts = _image_parts(messages)
    if not parts:
        return ""
    rows = []
    for number, part in enumerate(parts, 1):
        if part.get("type") == "file":
            rows.append(f"| {number} | a file in your Puter storage ({part.get('puter_path')}) | | |")
            continue
        holder = part.get("image_url")
        url = holder.get("url") if isinstance(holder, dict) else holder
        if not isinstance(url, str) or not url.startswith("data:"):
            host = urlsplit(url).hostname if isinstance(url, str) else None
            rows.append(f"| {number} | an image at {host or '?'} (the sandbox fetches no URLs) | | |")
            continue
        header, _, payload = url.partition(",")
        chunk = payload[:120_000]
        try:
            head = base64.b64decode(chunk[: len(chunk) // 4 * 4])
        except (binascii.Error, ValueError):
            head = b""
        info = image_info(head)
        size = len(payload) * 3 // 4 if header.endswith(";base64") else len(payload)
        caption = png_text(head) if info and info[0] == "PNG" else None
        what = f"{info[0]}" if info else "not an image I can read"
        pixels = f"{info[1]}×{info[2]}" if info and info[1] else "?"
        said = f" · its caption reads “{caption[:80]}”" if caption else ""
        rows.append(f"| {number} | {what}{said} | {pixels} | {size / 1000:.1f} kB |")
    count = f"{len(parts)} image" + ("s" if len(parts) != 1 else "")
    return (
        f"\n\n**I see {count}:**\n\n| # | what | pixels | size |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )
