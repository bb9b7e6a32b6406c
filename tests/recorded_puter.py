"""A self-hosted Puter as recorded in ``transcripts/turn3/``: a loopback server that answers with
the recorded replies (status, Content-Type, body or NDJSON lines), so that the client meets
exactly what a real Puter sent.

The recordings' local model, ``ollama:ollama/stub-tools:latest``, is Puter's real
OpenAI-compatible provider code in front of a small stand-in for Ollama. Its requests are
answered by the recording of the same kind:

- no tools offered: ``ollama-plain.json``;
- tools offered, "two calls please": ``ollama-tools-two-calls-*.json`` (the whole reply
  carries both calls, the stream only the last: Puter's own behaviour);
- tools offered, any other question: ``ollama-tools-complete.json`` / ``-stream.json``, or
  ``ollama-tools-normalize.json`` with ``response: {normalize: true}``;
- tool results sent back: ``ollama-tools-roundtrip-project-shape*.json``, whose stand-in
  quotes the tool result it was sent (here: every result after the last question, joined).

``GET /whoami`` answers ``temp-whoami.json`` (a guest); ``models`` and ``list`` their
``ollama-*`` recordings; ``app-telemetry`` the 404 "App not found" (no ``code``). Every
request is kept in ``calls``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

__all__ = ["STUB", "RecordedPuter", "recorded", "recorded_puter"]

TURN3 = Path(__file__).resolve().parent / "transcripts" / "turn3"
STUB = "ollama:ollama/stub-tools:latest"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TURN3 / name).read_text())
    return data


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class RecordedPuter:
    """The server (start with ``with``); ``origin`` to sign in to, ``calls`` as received."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.calls.append({"GET": self.path})
                self._send(recorded("temp-whoami.json"))

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.calls.append(body)
                self._send(recorded(owner.answer(body)), body)

            def _send(self, exchange: dict[str, Any], body: dict[str, Any] | None = None) -> None:
                if "response" in exchange:  # beyond-chat's form: the first 500 bytes of the body
                    response = exchange["response"]
                    exchange = {
                        "status": response["status"],
                        "headers": {"Content-Type": response["content_type"]},
                        "body": json.loads(response["body_first_500_bytes"]),
                    }
                if "ndjson_lines" in exchange:
                    payload = "".join(json.dumps(line) + "\n" for line in owner.lines(exchange, body))
                else:
                    payload = json.dumps(owner.body(exchange, body))
                data = payload.encode()
                self.send_response(exchange["status"])
                self.send_header("Content-Type", exchange["headers"]["Content-Type"])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordedPuter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def completes(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c.get("method") == "complete"]

    # -- which recording answers ---------------------------------------------------------

    def answer(self, body: dict[str, Any]) -> str:
        method = body.get("method")
        if body.get("interface") == "app-telemetry":
            return "app-telemetry-user-count.json"
        if method in ("models", "list"):
            return f"ollama-{method}.json"
        args = body.get("args") or {}
        stream = "-stream" if args.get("stream") else ""
        messages = args.get("messages") or []
        if args.get("model") == "fake":
            return "tools-fake-complete.json"
        if any(m.get("role") == "tool" for m in messages):
            return f"ollama-tools-roundtrip-project-shape{stream}.json"
        if not args.get("tools"):
            return "ollama-plain.json"
        question = _text_of(messages[-1].get("content")) if messages else ""
        if question == "two calls please":
            return f"ollama-tools-two-calls-{'stream' if stream else 'complete'}.json"
        if (args.get("response") or {}).get("normalize") and not stream:
            return "ollama-tools-normalize.json"
        return f"ollama-tools-{'stream' if stream else 'complete'}.json"

    @staticmethod
    def _results(body: dict[str, Any] | None) -> str | None:
        messages = (body or {}).get("args", {}).get("messages") or []
        results = [m.get("content") for m in messages if m.get("role") == "tool"]
        return ", ".join(str(r) for r in results) if results else None

    def body(self, exchange: dict[str, Any], request: dict[str, Any] | None) -> Any:
        reply: dict[str, Any] = json.loads(json.dumps(exchange["body"]))
        results = self._results(request)
        if results is not None and exchange["status"] == 200:  # the stand-in quotes what it was sent
            reply["result"]["message"]["content"] = f"Stub answer. Tool result seen: {results}"
        return reply

    def lines(self, exchange: dict[str, Any], request: dict[str, Any] | None) -> list[Any]:
        lines: list[Any] = exchange["ndjson_lines"]
        results = self._results(request)
        if results is None:
            return lines
        text = f"Stub answer. Tool result seen: {results}"
        return [{"type": "text", "text": text}, *(line for line in lines if line.get("type") != "text")]


@pytest.fixture
def recorded_puter() -> Iterator[RecordedPuter]:
    with RecordedPuter() as server:
        yield server
