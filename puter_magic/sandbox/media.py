"""The sandbox's AI interfaces beyond chat, answered as a self-hosted Puter answers them.

- ``puter-image-generation`` (``generate``, ``list``, ``models``): ``sandbox-image`` replies
  with a ``data:image/png`` URL (as OpenAI's provider does), ``sandbox-image-url`` with a URL
  to the picture on the sandbox (as other providers do). The PNG shows the prompt, which the
  sandbox's OCR reads back.
- ``puter-tts`` (``synthesize``, ``list``, ``list_voices``, ``list_engines``): raw
  ``audio/wav`` bytes, chunked, no envelope (as real providers send audio); the text is kept in
  the file, so transcribing it gives the text back.
- ``puter-speech2speech`` (``convert``, the voice changer): a WAV of the sandbox's speech comes
  back spoken in another voice (a higher or lower pitch, the same words kept inside); other
  audio comes back as it was, in the new voice's pitch only in name.
- ``puter-video-generation`` (``generate``, ``list``, ``models``): holds the request open
  while it "renders" (``Sandbox.video_seconds``), then answers a URL string to an MP4 on the
  sandbox, as Together's and BytePlus's providers do. The MP4 has a header and no frames.
- ``puter-speech2txt`` (``transcribe``, ``translate``, ``list``, ``list_models``): the
  sandbox's listening: the text kept in a WAV it spoke (:func:`~.sound.hear`), with word
  timings, in each model's response formats.
- ``puter-ocr`` (``recognize``: Textract's reply shape, or Mistral's with ``provider:
  "mistral"``): the sandbox's reading: a picture's caption (:func:`~.pixels.read_caption`).

Inputs are read as Puter's ``loadFileInput`` takes them (data URLs, and the sandbox's own
files; no Puter storage, no network). Puter's sample files and the pictures and videos the
sandbox made are served without a token (:func:`served`).

``test_mode`` answers with Puter's fixed samples (sample files are served by the sandbox itself,
so they can be fetched offline). ``Sandbox(media_providers=False)`` answers like a self-hosted
Puter without provider keys, as recorded in ``tests/transcripts/beyond-chat/``: image and TTS
calls refused with 400, speech-to-text and OCR with 500 unless in test mode.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes, urlsplit

from .pixels import image_info, picture, read_caption
from .sound import WORD_GAP, WORD_SECONDS, hear, silent_mp3, speech

__all__ = ["MEDIA_INTERFACES", "MediaFailure", "MediaHost", "MediaReply", "answer", "failure", "served"]

IMAGE = "puter-image-generation"
TTS = "puter-tts"
STT = "puter-speech2txt"
OCR = "puter-ocr"
VOICE = "puter-speech2speech"
VIDEO = "puter-video-generation"
MEDIA_INTERFACES: dict[str, dict[str, Any]] = {
    IMAGE: {
        "drivers": ["ai-image", *(f"{p}-image-generation" for p in ("openai", "gemini", "together", "xai"))],
        "default": "ai-image",
        "methods": ("generate", "list", "models"),
    },
    TTS: {
        "drivers": ["ai-tts", "aws-polly", "openai-tts", "elevenlabs-tts", "gemini-tts", "xai-tts"],
        "default": "ai-tts",
        "methods": ("synthesize", "list", "list_voices", "list_engines"),
    },
    STT: {
        "drivers": ["ai-speech2txt", "openai-speech2txt", "xai-speech2txt"],
        "default": "ai-speech2txt",
        "methods": ("transcribe", "translate", "list", "list_models"),
    },
    OCR: {"drivers": ["ai-ocr", "aws-textract", "mistral"], "default": "ai-ocr", "methods": ("recognize",)},
    VOICE: {
        "drivers": ["ai-speech2speech", "elevenlabs-voice-changer"],
        "default": "ai-speech2speech",
        "methods": ("convert",),
    },
    VIDEO: {
        "drivers": [
            "ai-video",
            *(f"{p}-video-generation" for p in ("openai", "together", "gemini", "byteplus")),
        ],
        "default": "ai-video",
        "methods": ("generate", "list", "models"),
    },
}
SERVICE = {iface: spec["default"] for iface, spec in MEDIA_INTERFACES.items()}
SAMPLE_IMAGE = "/puter-sample-data/image_example.png"
SAMPLE_AUDIO = "/puter-sample-data/tts_example.mp3"
SAMPLE_VIDEO = "/puter-sample-data/txt2vid.mp4"
GENERATED = "/puter-generated/"
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

QUALITY = {"low": 256, "medium": 512, "high": 1024}
RATIOS = [{"w": 1, "h": 1}, {"w": 16, "h": 9}, {"w": 9, "h": 16}, {"w": 4, "h": 3}, {"w": 3, "h": 4}]
IMAGE_MODELS = {"sandbox-image": "Sandbox Image", "sandbox-image-url": "Sandbox Image (URL reply)"}
VOICES = {"alto": "Alto", "bass": "Bass"}
# The voice changer's voices (ElevenLabs ids are opaque words): the pitch each one shifts to.
CHANGER_VOICES = {"21m00Tcm4TlvDq8ikWAM": 0, "alto": 120, "bass": -150}
VOICE_ID = re.compile(r"[A-Za-z0-9_-]+")
VIDEO_SECONDS = (4, 8, 12)
VIDEO_SIZES = ("1280x720", "720x1280")
TTS_PROVIDERS = {
    "aws-polly": ("aws", "polly"),
    "openai": (),
    "elevenlabs": ("eleven", "11labs"),
    "gemini": ("google",),
    "xai": ("grok",),
    "speechify": ("simba",),
    "sandbox": (),
}


class MediaHost(Protocol):
    """What the media interfaces need of the sandbox: its origin (URLs to its files), whether it
    has providers, the pictures and videos it made, and how long a video renders."""

    media_providers: bool
    generated: dict[str, bytes]
    video_seconds: float

    @property
    def origin(self) -> str: ...


class MediaFailure(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class MediaReply:
    result: Any = None  # put in a success envelope
    body: bytes | None = None  # or sent raw, with this content type
    content_type: str = "application/octet-stream"
    hold: float = 0.0  # seconds the request stays open before the reply (video generation)
    units: float = 1.0  # what is metered: characters spoken, seconds of video...


def failure(message: str, code: str = "bad_request", status: int = 400) -> MediaFailure:
    return MediaFailure(status, code, message)


def answer(sandbox: MediaHost, iface: str, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
    """The reply to one media driver call (raises MediaFailure for Puter's errors)."""
    handler = {IMAGE: _image, TTS: _tts, STT: _speech2txt, OCR: _ocr, VOICE: _voice, VIDEO: _video}[iface]
    return handler(sandbox, method, driver, args)


# -- files in and out -------------------------------------------------------------------------


def served(sandbox: MediaHost, path: str) -> tuple[bytes, str] | None:
    """Files the sandbox serves without a token: Puter's samples and generated pictures."""
    if path == SAMPLE_IMAGE:
        return picture("Puter sample image", 256, 256), "image/png"
    if path == SAMPLE_AUDIO:
        return silent_mp3(1.0), "audio/mpeg"
    if path == SAMPLE_VIDEO:
        return empty_mp4(4.0), "video/mp4"
    if path.startswith(GENERATED):
        data = sandbox.generated.get(path[len(GENERATED) :])
        if data is None:
            return None
        return data, "video/mp4" if path.endswith(".mp4") else "image/png"
    return None


def _input(sandbox: MediaHost, value: Any, limit: int | None) -> bytes:
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


# -- images -------------------------------------------------------------------------------------


def _image_entry(model_id: str) -> dict[str, Any]:
    return {
        "puterId": f"sandbox:sandbox/{model_id}",
        "id": model_id,
        "aliases": [f"sandbox/{model_id}"],
        "name": IMAGE_MODELS[model_id],
        "version": "1.0",
        "costs_currency": "usd-cents",
        "index_cost_key": "medium:512x512",
        "costs": {f"{q}:{s}x{s}": 0 for q, s in QUALITY.items()},
        "allowedQualityLevels": list(QUALITY),
        "allowedRatios": RATIOS,
    }


def _size(args: dict[str, Any]) -> tuple[int, int]:
    quality = args.get("quality", "medium")
    if quality not in QUALITY:
        raise failure(f"Invalid quality: {quality}. Allowed: {', '.join(QUALITY)}")
    side = QUALITY[quality]
    ratio = args.get("ratio")
    if isinstance(args.get("width"), int) and isinstance(args.get("height"), int):
        ratio = {"w": args["width"], "h": args["height"]}
    elif isinstance(args.get("aspect_ratio"), str) and ":" in args["aspect_ratio"]:
        w, _, h = args["aspect_ratio"].partition(":")
        ratio = {"w": int(w) if w.isdigit() else 1, "h": int(h) if h.isdigit() else 1}
    w, h = (ratio.get("w"), ratio.get("h")) if isinstance(ratio, dict) else (1, 1)
    if not (isinstance(w, (int, float)) and isinstance(h, (int, float)) and w > 0 and h > 0):
        raise failure("Invalid `ratio`: expected {w, h} with positive numbers")
    aspect = min(3.0, max(1 / 3, w / h))  # as OpenAI's provider clamps it
    return (side, max(16, round(side / aspect))) if aspect >= 1 else (max(16, round(side * aspect)), side)


def _image(sandbox: MediaHost, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
    configured = sandbox.media_providers
    if method == "list":
        return MediaReply([f"sandbox:sandbox/{m}" for m in IMAGE_MODELS] if configured else [])
    if method == "models":
        return MediaReply([_image_entry(m) for m in IMAGE_MODELS] if configured else [])
    model = args.get("model")
    if not configured and not model:
        raise failure("Missing `model`")
    wanted = str(model or "sandbox-image").strip().lower()
    found = next((m for m in IMAGE_MODELS if wanted in (m, f"sandbox/{m}", f"sandbox:sandbox/{m}")), None)
    if not configured or found is None:
        raise failure(f"Model not found: {model}")
    prompt = args.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise failure("Missing `prompt`")
    width, height = _size(args)
    if args.get("test_mode"):
        return MediaReply(sandbox.origin + SAMPLE_IMAGE)
    png = picture(prompt, width, height)
    if found == "sandbox-image-url":
        name = hashlib.sha256(png).hexdigest()[:16] + ".png"
        sandbox.generated[name] = png
        while len(sandbox.generated) > 32:
            sandbox.generated.pop(next(iter(sandbox.generated)))
        return MediaReply(f"{sandbox.origin}{GENERATED}{name}")
    return MediaReply("data:image/png;base64," + base64.b64encode(png).decode("ascii"))


# -- text to speech ------------------------------------------------------------------------------


def _tts_provider(name: str) -> str | None:
    key = name.strip().lower()
    return next((p for p, aliases in TTS_PROVIDERS.items() if key == p or key in aliases), None)


def _tts(sandbox: MediaHost, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
    available = ["sandbox"] if sandbox.media_providers else []
    wanted = args.get("provider")
    if method == "list":
        return MediaReply(list(available))
    if method in ("list_voices", "list_engines"):
        if not available or wanted not in (None, "all", "sandbox"):
            return MediaReply([])
        if method == "list_engines":
            entry = {
                "id": "sandbox-tts",
                "name": "Sandbox TTS",
                "provider": "sandbox",
                "pricing_per_million_chars": 0,
            }
            return MediaReply([entry])
        language = {"name": "English", "code": "en"}
        return MediaReply(
            [
                {
                    "id": v,
                    "name": n,
                    "language": language,
                    "provider": "sandbox",
                    "supported_models": ["sandbox-tts"],
                }
                for v, n in VOICES.items()
            ]
        )
    engine = args.get("engine") if isinstance(args.get("engine"), str) else None
    by_driver = {"aws-polly": "aws-polly", "openai-tts": "openai", "elevenlabs-tts": "elevenlabs"}
    by_driver.update({"gemini-tts": "gemini", "xai-tts": "xai"})
    name: str
    if isinstance(wanted, str) and wanted:
        name = wanted
    elif engine and _tts_provider(engine):
        name = engine
    elif driver in by_driver:
        name = by_driver[driver]
    else:
        name = "aws-polly" if "aws-polly" in available else (available[0] if available else "aws-polly")
    provider = _tts_provider(name)
    if provider is None:
        raise failure(f"TTS provider not found: {name}")
    if provider not in available:
        raise failure(f"TTS provider not configured: {provider}. Available: {', '.join(available)}")
    text = args.get("text")
    if not isinstance(text, str) or not text:
        raise failure("Field `text` is required", "field_required")
    voice = args.get("voice")
    if voice is not None and voice not in VOICES:
        raise failure(f"Invalid voice: expected one of {', '.join(VOICES)}, got {voice}", "field_invalid")
    if args.get("test_mode"):
        return MediaReply({"url": sandbox.origin + SAMPLE_AUDIO, "content_type": "audio"})
    return MediaReply(body=speech(text), content_type="audio/wav", units=len(text))


# -- speech to speech (the voice changer) ----------------------------------------------------------


def _voice(sandbox: MediaHost, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
    if args.get("test_mode"):  # even without audio, as recorded
        return MediaReply({"url": sandbox.origin + SAMPLE_AUDIO, "content_type": "audio/mpeg"})
    if not sandbox.media_providers:
        raise failure("ElevenLabs API key not configured", "internal_error", 500)
    voice = args.get("voice", args.get("voice_id", "21m00Tcm4TlvDq8ikWAM"))
    if not isinstance(voice, str) or not VOICE_ID.fullmatch(voice):
        raise failure("Invalid `voice`: letters, digits, _ and - only", "field_invalid")
    audio = args.get("audio")
    if not audio:
        raise failure("Field `audio` is required", "field_required")
    if isinstance(audio, str) and audio.startswith(("http://", "https://")):  # read as a Puter path
        raise failure(f"File not found: {audio[:100]}", "not_found", 404)
    text, seconds = hear(_input(sandbox, audio, MAX_INPUT))
    if text is None and seconds is None:
        raise failure("Could not read the audio (the sandbox reads WAV files)")
    shift = CHANGER_VOICES.get(voice, hashlib.sha256(voice.encode()).digest()[0] % 200 - 100)
    return MediaReply(body=speech(text or "(no words)", shift), content_type="audio/wav")


# -- video ------------------------------------------------------------------------------------------


def _video_entry() -> dict[str, Any]:
    return {
        "id": "sandbox-video",
        "puterId": "sandbox:sandbox/sandbox-video",
        "aliases": ["sandbox/sandbox-video"],
        "name": "Sandbox Video",
        "provider": "sandbox",
        "costs_currency": "usd-cents",
        "index_cost_key": "per-second",
        "costs": {"per-second": 1},
        "allowedDurations": list(VIDEO_SECONDS),
        "allowedResolutions": list(VIDEO_SIZES),
    }


def _snap(value: Any, allowed: tuple[Any, ...]) -> Any:
    """The allowed value nearest to *value* (Puter snaps seconds and size, else the first)."""
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and all(isinstance(a, int) for a in allowed)
    ):
        return min(allowed, key=lambda a: abs(a - value))
    return value if value in allowed else allowed[0]


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def empty_mp4(seconds: float = 4.0) -> bytes:
    """An MP4 (ISO base media) file with its header and length but no frames: what the sandbox
    "generates" as video. Players show it; there is nothing to watch."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    timescale = 1000
    mvhd = _box(
        b"mvhd",
        struct.pack(">IIIII", 0, 0, 0, timescale, int(seconds * timescale))
        + struct.pack(">IH", 0x00010000, 0x0100)
        + bytes(10)
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
        + bytes(24)
        + struct.pack(">I", 2),
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"free", b"puter-sandbox video")


def _video(sandbox: MediaHost, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
    configured = sandbox.media_providers
    if method == "list":
        return MediaReply(["sandbox:sandbox/sandbox-video"] if configured else [])
    if method == "models":
        return MediaReply([_video_entry()] if configured else [])
    if not configured:  # the message stays in the server's log, as recorded
        raise failure("Internal Server Error", "internal_error", 500)
    model = args.get("model")
    if model is not None and str(model).strip().lower() not in ("sandbox-video", "sandbox/sandbox-video"):
        raise failure(f"Model not found: {model}")
    prompt = args.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise failure("Missing `prompt`")
    if args.get("test_mode"):
        return MediaReply(sandbox.origin + SAMPLE_VIDEO)
    seconds = _snap(args.get("seconds", args.get("duration")), VIDEO_SECONDS)
    _snap(args.get("size", args.get("resolution")), VIDEO_SIZES)
    video = empty_mp4(float(seconds))
    name = hashlib.sha256(prompt.encode() + video).hexdigest()[:16] + ".mp4"
    sandbox.generated[name] = video
    while len(sandbox.generated) > 32:
        sandbox.generated.pop(next(iter(sandbox.generated)))
    return MediaReply(f"{sandbox.origin}{GENERATED}{name}", hold=sandbox.video_seconds, units=seconds)


# -- speech to text --------------------------------------------------------------------------------


def _speech2txt(sandbox: MediaHost, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
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


# -- OCR ----------------------------------------------------------------------------------------------


def _ocr(sandbox: MediaHost, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
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
