"""The sandbox's sounds: real WAV files with the spoken text kept inside, and read back.

:func:`speech` writes one short tone per word (8 kHz, 8-bit mono, so a sentence is a few
kilobytes) and keeps the text in a ``LIST``/``INFO`` ``ICMT`` chunk; :func:`hear` is the
sandbox's speech-to-text: that text and the timing of the tones. :func:`silent_mp3` is the
sample a self-hosted Puter links to in test mode, made of silent MPEG frames.
"""

from __future__ import annotations

import hashlib
import math
import struct

__all__ = ["RATE", "WORD_GAP", "WORD_SECONDS", "hear", "silent_mp3", "speech"]

RATE = 8000
WORD_SECONDS = 0.14
WORD_GAP = 0.05
MAX_WORDS = 600


def _tone(frequency: float, seconds: float) -> bytes:
    frames = int(seconds * RATE)
    fade = max(1, frames // 8)
    out = bytearray(frames)
    for i in range(frames):
        envelope = min(1.0, i / fade, (frames - i) / fade)
        out[i] = 128 + int(80 * envelope * math.sin(2 * math.pi * frequency * i / RATE))
    return bytes(out)


def speech(text: str, shift: int = 0) -> bytes:
    """A WAV file: a tone per word (pitch from the word, raised by *shift* Hz: another voice),
    the text kept in an INFO chunk."""
    words = text.split()[:MAX_WORDS] or [text]
    gap = b"\x80" * int(WORD_GAP * RATE)
    tones = {}
    samples = bytearray()
    for word in words:
        pitch = 330 + shift + hashlib.sha256(word.lower().encode()).digest()[0] % 12 * 40
        if pitch not in tones:
            tones[pitch] = _tone(pitch, WORD_SECONDS)
        samples += tones[pitch] + gap
    comment = text.encode("utf-8") + b"\x00"
    if len(comment) % 2:
        comment += b"\x00"
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(comment)) + comment
    info += b"ISFT" + struct.pack("<I", 14) + b"puter-sandbox\x00"
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE, 1, 8)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"LIST"
        + struct.pack("<I", len(info))
        + info
        + b"data"
        + struct.pack("<I", len(samples))
        + bytes(samples)
    )
    if len(samples) % 2:
        body += b"\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def hear(data: bytes) -> tuple[str | None, float | None]:
    """(the text kept in a WAV's INFO chunk, its length in seconds); (None, None) if not a WAV."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None, None
    pos, text, byte_rate, seconds = 12, None, 0, None
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if kind == b"fmt " and len(body) >= 12:
            (byte_rate,) = struct.unpack("<I", body[8:12])
        elif kind == b"data" and byte_rate:
            seconds = round(min(size, len(body)) / byte_rate, 3)
        elif kind == b"LIST" and body[:4] == b"INFO":
            inner = 4
            while inner + 8 <= len(body):
                sub = body[inner : inner + 4]
                (length,) = struct.unpack("<I", body[inner + 4 : inner + 8])
                if sub == b"ICMT":
                    text = body[inner + 8 : inner + 8 + length].rstrip(b"\x00").decode("utf-8", "replace")
                inner += 8 + length + (length & 1)
        pos += 8 + size + (size & 1)
    return text, seconds


def silent_mp3(seconds: float = 1.0) -> bytes:
    """MPEG-1 Layer III frames of silence (128 kbit/s, 44.1 kHz, mono): a real, playable MP3."""
    header = bytes((0xFF, 0xFB, 0x90, 0xC4))
    frame = header + bytes(417 - len(header))
    return frame * max(1, int(seconds * 44100 / 1152))
