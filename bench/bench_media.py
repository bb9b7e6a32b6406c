"""What attaching a large image to a question costs, as a ratio measured in one run.

    .venv/bin/python bench/bench_media.py

A 20 MB image goes to ``PuterClient.chat(..., images=[...])`` (given as bytes, and as a file
path), all the way to the bytes handed to the HTTP session (a session that captures them and
answers at once, so no server's time is counted). The baseline, done by hand in the same
run: base64-encode the image and ``json.dumps`` the same request body. Target: at most 1.5x.
Peak extra memory (tracemalloc) is reported for both, in megabytes and as a multiple of the
image's size.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import requests
import urllib3

from puter_magic import PuterClient

MB = 1024 * 1024
SIZE = 20 * MB
ROUNDS = 7
QUESTION = "What is in this picture?"
REPLY = json.dumps(
    {"success": True, "result": {"message": {"role": "assistant", "content": "A picture."}, "usage": {}}}
).encode()


def big_png(size: int) -> bytes:
    """A PNG header and IHDR (so the image is recognised as one), then incompressible bytes."""
    ihdr = struct.pack(">IIBBBBB", 4096, 4096, 8, 2, 0, 0, 0)
    head = (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )
    return head + os.urandom(size - len(head))


class CapturingSession(requests.Session):
    """Takes the request body and answers with a canned reply, without a network."""

    sent = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent = len(kwargs.get("data") or b"")
        resp = requests.Response()
        resp.status_code = 200
        resp.headers["Content-Type"] = "application/json"
        resp.raw = urllib3.HTTPResponse(body=io.BytesIO(REPLY), preload_content=False, status=200)
        return resp


def by_hand(data: bytes) -> str:
    url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    body = {
        "interface": "puter-chat-completion",
        "method": "complete",
        "args": {
            "model": "sandbox-tutor",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": QUESTION},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        },
        "driver": "ai-chat",
    }
    return json.dumps(body, separators=(",", ":"))


def best(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    result = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return result


def main() -> int:
    data = big_png(SIZE)
    session = CapturingSession()
    client = PuterClient("http://127.0.0.1:9", "bench-token", session=session)
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as handle:
        handle.write(data)
    path = handle.name
    try:
        client.chat(QUESTION, model="sandbox-tutor", images=[data])
        assert session.sent == len(by_hand(data)), (session.sent, len(by_hand(data)))

        def ours_bytes() -> None:
            client.chat(QUESTION, model="sandbox-tutor", images=[data])

        def ours_path() -> None:
            client.chat(QUESTION, model="sandbox-tutor", images=[path])

        def hand() -> None:
            by_hand(data)

        t_hand, t_bytes, t_path = best(hand), best(ours_bytes), best(ours_path)
        m_hand, m_bytes, m_path = peak(hand), peak(ours_bytes), peak(ours_path)
    finally:
        os.unlink(path)
    ok = True
    print(f"a {SIZE / MB:.0f} MB image; best of {ROUNDS} runs")
    print(f"  by hand (base64 + json.dumps): {t_hand * 1000:7.1f} ms, peak extra {m_hand / MB:6.1f} MB")
    for label, t, m in (("chat(images=[bytes])", t_bytes, m_bytes), ("chat(images=[path])", t_path, m_path)):
        ratio = t / t_hand
        ok = ok and ratio <= 1.5
        print(
            f"  {label:29s}: {t * 1000:7.1f} ms, peak extra {m / MB:6.1f} MB "
            f"({m / SIZE:.1f}x the image), ratio {ratio:.2f} (target <= 1.5)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
