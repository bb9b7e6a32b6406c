"""What every media interface of the sandbox shares: its reply and failure types, and the
files it serves without a token (Puter's sample files, the pictures it generated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .pixels import picture
from .sound import empty_mp4, silent_mp3

if TYPE_CHECKING:
    from . import Sandbox

__all__ = [
    "GENERATED",
    "SAMPLE_AUDIO",
    "SAMPLE_IMAGE",
    "SAMPLE_VIDEO",
    "MediaFailure",
    "MediaReply",
    "failure",
    "served",
]

SAMPLE_IMAGE = "/puter-sample-data/image_example.png"
SAMPLE_AUDIO = "/puter-sample-data/tts_example.mp3"
SAMPLE_VIDEO = "/puter-sample-data/txt2vid.mp4"
GENERATED = "/puter-generated/"


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


def served(sandbox: Sandbox, path: str) -> tuple[bytes, str] | None:
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
