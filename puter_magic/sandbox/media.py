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
- ``puter-speech2txt`` (``transcribe``, ``translate``, ``list``, ``list_models``) and
  ``puter-ocr`` (``recognize``: Textract's reply shape, or Mistral's with ``provider:
  "mistral"``), in :mod:`.reading`.

``test_mode`` answers with Puter's fixed samples (sample files are served by the sandbox itself,
so they can be fetched offline). ``Sandbox(media_providers=False)`` answers like a self-hosted
Puter without provider keys, as recorded in ``tests/transcripts/beyond-chat/``: image and TTS
calls refused with 400, speech-to-text and OCR with 500 unless in test mode.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING, Any

from .media_files import (
    GENERATED,
    SAMPLE_AUDIO,
    SAMPLE_IMAGE,
    SAMPLE_VIDEO,
    MediaFailure,
    MediaReply,
    failure,
    served,
)
from .pixels import picture
from .reading import MAX_INPUT, _input, ocr, speech2txt
from .sound import empty_mp4, hear, speech

if TYPE_CHECKING:
    from . import Sandbox

__all__ = ["MEDIA_INTERFACES", "MediaFailure", "MediaReply", "answer", "failure", "served"]

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


def answer(sandbox: Sandbox, iface: str, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
    """The reply to one media driver call (raises MediaFailure for Puter's errors)."""
    handler = {IMAGE: _image, TTS: _tts, STT: speech2txt, OCR: ocr, VOICE: _voice, VIDEO: _video}[iface]
    return handler(sandbox, method, driver, args)


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


def _image(sandbox: Sandbox, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
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


def _tts(sandbox: Sandbox, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
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


def _voice(sandbox: Sandbox, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
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


def _video(sandbox: Sandbox, method: str, driver: str, args: dict[str, Any]) -> MediaReply:
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
