"""Record Puter requests and replies to a file, and replay them with no network: a layer
the transport goes through.

The file is JSON Lines, one exchange a line::

    {"format": "puter-magic/recording", "version": 1, "key": "<sha256>",
     "request": {"interface": ..., "driver": ..., "method": ..., "args": {...}},
     "response": {"kind": "json", "result": ...}                     # a success
               | {"kind": "stream", "lines": [[seconds, "<ndjson line>"], ...]}
               | {"kind": "binary", "content_type": ..., "base64": ...}
               | {"kind": "error", "class": "ModelNotFound", "status": 400, "code": ..., "message": ...}}

The key is a hash of the canonical JSON of interface, driver (and service, when given), method
and args, so the same
question in the same conversation finds its reply. No token and no header is ever written,
and reply texts are redacted of the token before they are.

:class:`TapeWire` is the layer the client sends through while a tape is on: it answers from
the file (replay) or passes the request on to the transport and writes what came back
(record). Which of the two a tape does is its :class:`Mode`.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import errors
from .chunks import Chunk, ChunkStream, iter_lines, parse_ndjson
from .errors import PuterError, ReplayMiss, redact
from .humanize import plural
from .protocol import NDJSON_TYPE, BinaryResult
from .transport import LineTap, Wire

__all__ = ["Mode", "ReplayMiss", "Tape", "TapeWire", "request_key"]


class Mode(enum.Enum):
    """What a tape does: write what the network answers, or answer from the file."""

    RECORD = "record"
    REPLAY = "replay"


FORMAT = "puter-magic/recording"
VERSION = 1


def canonical(body: dict[str, Any]) -> dict[str, Any]:
    out = {
        "interface": body.get("interface"),
        "driver": body.get("driver"),
        "method": body.get("method"),
        "args": body.get("args") or {},
    }
    if body.get("service") is not None:  # only when given, so older recordings keep their keys
        out["service"] = body["service"]
    return out


def request_key(body: dict[str, Any]) -> str:
    text = json.dumps(canonical(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def _differences(a: Any, b: Any, path: str = "") -> Iterator[str]:
    """Every place where *a* (recorded) and *b* (now) differ, in order, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                side = "only in the recording" if key in a else "not in the recording"
                yield f"{path}.{key} ({side})".lstrip(".")
            else:
                yield from _differences(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _differences(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            yield f"{path} (recorded {plural(len(a), 'item')}, now {len(b)})".lstrip(".")
    elif a != b:
        yield f"{path.lstrip('.')}: recorded {_short(a)}, now {_short(b)}"


class Tape:
    """One recording file, recorded to or replayed (its :class:`Mode`).

    Args:
        fallthrough: in replay mode, send a request that is not in the file to the network.
        pace: ``"original"`` replays replies at the pace they were recorded: a streamed one
            line by line (the wait before the first line included), a whole one after as long
            as it took; ``"fast"`` as fast as possible.
    """

    def __init__(
        self, path: str | Path, mode: Mode, *, fallthrough: bool = False, pace: str = "original"
    ) -> None:
        if not isinstance(mode, Mode):
            raise TypeError(f"mode is Mode.RECORD or Mode.REPLAY, not {mode!r}")
        if pace not in ("original", "fast"):
            raise ValueError("pace is 'original' or 'fast'")
        self.path = Path(path).expanduser()
        self.mode = mode
        self.fallthrough = fallthrough
        self.pace = pace
        self.entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.recorded = 0
        self.replayed = 0
        if mode is Mode.REPLAY:
            self._load()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()

    @property
    def recording(self) -> bool:
        return self.mode is Mode.RECORD

    @property
    def replaying(self) -> bool:
        return self.mode is Mode.REPLAY

    def __repr__(self) -> str:
        return f"<Tape {self.mode.value} {str(self.path)!r} entries={len(self.entries)}>"

    def _load(self) -> None:
        try:
            lines = self.path.read_text().splitlines()
        except OSError as exc:
            raise ValueError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                raise ValueError(f"{self.path} line {number} is not JSON") from None
            if not isinstance(entry, dict) or entry.get("format") != FORMAT:
                raise ValueError(f"{self.path} line {number} is not a puter-magic recording")
            self.entries[entry["key"]] = entry  # a later recording of the same request wins

    def main_model(self) -> str | None:
        """The chat model the recording asked most often (the first of equals)."""
        counts: dict[str, int] = {}
        for entry in self.entries.values():
            model = (entry["request"].get("args") or {}).get("model")
            if isinstance(model, str) and entry["request"].get("method") == "complete":
                counts[model] = counts.get(model, 0) + 1
        return max(counts, key=lambda m: counts[m]) if counts else None

    # -- recording -------------------------------------------------------------------

    def _write(
        self,
        body: dict[str, Any],
        response: dict[str, Any],
        secrets: Iterable[str | None],
        elapsed: float | None = None,
    ) -> None:
        if elapsed is not None:
            response = {**response, "elapsed": round(elapsed, 4)}
        entry = {
            "format": FORMAT,
            "version": VERSION,
            "key": request_key(body),
            "request": canonical(body),
            "response": response,
            "recorded_at": time.time(),
        }
        text = redact(json.dumps(entry, ensure_ascii=False, default=str), secrets)
        with self._lock, self.path.open("a") as handle:
            handle.write(text + "\n")
            self.recorded += 1

    def record_result(
        self, body: dict[str, Any], result: Any, secrets: Iterable[str | None], elapsed: float | None = None
    ) -> None:
        """A whole reply, and how long it took (*elapsed* seconds: replayed at that pace)."""
        if isinstance(result, bytes):
            return
        self._write(body, {"kind": "json", "result": result}, secrets, elapsed)

    def record_binary(
        self,
        body: dict[str, Any],
        content: bytes,
        content_type: str,
        secrets: Iterable[str | None],
        elapsed: float | None = None,
    ) -> None:
        payload = {
            "kind": "binary",
            "content_type": content_type,
            "base64": base64.b64encode(content).decode(),
        }
        self._write(body, payload, secrets, elapsed)

    def record_error(
        self,
        body: dict[str, Any],
        err: PuterError,
        secrets: Iterable[str | None],
        elapsed: float | None = None,
    ) -> None:
        if isinstance(err, (errors.PuterTimeout, errors.PuterConnectionError, errors.NotSignedIn)):
            return  # the network's mood, not the server's answer
        self._write(
            body,
            {
                "kind": "error",
                "class": type(err).__name__,
                "status": err.status,
                "code": err.code,
                "message": err.message,
                "retry_after": err.retry_after,
                "detail": err.detail,
            },
            secrets,
            elapsed,
        )

    def record_stream(
        self, body: dict[str, Any], lines: list[tuple[float, bytes]], secrets: Iterable[str | None]
    ) -> None:
        encoded = [[round(t, 4), line.decode("utf-8", "replace")] for t, line in lines]
        self._write(body, {"kind": "stream", "lines": encoded}, secrets)

    # -- replaying -----------------------------------------------------------------------

    def lookup(self, body: dict[str, Any]) -> dict[str, Any] | None:
        entry = self.entries.get(request_key(body))
        if entry is not None:
            self.replayed += 1
        return entry

    def miss(self, body: dict[str, Any]) -> ReplayMiss:
        """The error for a request that is not in the file, naming what differed."""
        wanted = canonical(body)
        same_method = [
            e["request"]
            for e in self.entries.values()
            if e["request"].get("method") == wanted["method"]
            and e["request"].get("interface") == wanted["interface"]
        ]
        if not self.entries:
            why = "the recording is empty"
        elif not same_method:
            why = f"it holds no {wanted['interface']} {wanted['method']} request"
        else:
            closest = min((list(_differences(r, wanted)) for r in same_method), key=len)
            why = "the closest recorded request differs at " + closest[0] if closest else "no match"
        return ReplayMiss(f"this request is not in {self.path.name}: {why}", code="not_recorded")

    def replay_result(self, entry: dict[str, Any]) -> Any:
        """The recorded result (or error), after as long as it took when recorded, at the
        original pace."""
        response = entry["response"]
        kind = response.get("kind")
        elapsed = response.get("elapsed")
        if self.pace == "original" and kind != "stream" and isinstance(elapsed, (int, float)) and elapsed > 0:
            time.sleep(float(elapsed))
        if kind == "error":
            cls = getattr(errors, str(response.get("class")), None)
            if not (isinstance(cls, type) and issubclass(cls, PuterError)):
                cls = errors.APIError
            raise cls(
                str(response.get("message")),
                status=response.get("status"),
                code=response.get("code"),
                retry_after=response.get("retry_after"),
                detail=response.get("detail"),
            )
        if kind == "binary":
            return BinaryResult(base64.b64decode(response["base64"]), response["content_type"])
        if kind == "stream":
            raise errors.MalformedResponse("the recording holds a streamed reply for a plain request")
        return response.get("result")

    def replay_chunks(self, entry: dict[str, Any], stop: threading.Event) -> Generator[Chunk, None, None]:
        response = entry["response"]
        if response.get("kind") != "stream":
            self.replay_result(entry)  # raises for a recorded error
            raise errors.MalformedResponse("the recording holds a plain reply for a streamed request")
        lines = response.get("lines") or []

        def paced() -> Generator[bytes, None, None]:
            started = time.monotonic()
            for offset, line in lines:
                if self.pace == "original":
                    wait = started + float(offset) - time.monotonic()
                    if wait > 0 and stop.wait(wait):
                        return
                yield line.encode() + b"\n"

        yield from parse_ndjson(iter_lines(paced()))


# -- the layer the client sends through ------------------------------------------------------


class TapeWire:
    """A :class:`~puter_magic.api.transport.Wire` that records to, or replays from, a :class:`Tape`.

    Replaying, a request the tape holds is answered from it; one it does not hold raises
    :class:`ReplayMiss`, or goes to *inner* with ``fallthrough``. Recording, every request
    goes to *inner* and its reply is written: a result, a binary body, a server's error,
    or a stream that ran to its end (timeouts and network failures are not written).
    """

    def __init__(self, tape: Tape, inner: Wire) -> None:
        self.tape = tape
        self.inner = inner

    def secrets(self) -> tuple[str | None, ...]:
        return self.inner.secrets()

    def _recorded(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The tape's entry for *body* when replaying (None: ask *inner*)."""
        if not self.tape.replaying:
            return None
        entry = self.tape.lookup(body)
        if entry is None and not self.tape.fallthrough:
            raise self.tape.miss(body)
        return entry

    def _record_errors(self, body: dict[str, Any], ask: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            return ask()
        except PuterError as err:
            if self.tape.recording:
                self.tape.record_error(body, err, self.secrets(), time.monotonic() - started)
            raise

    def result(self, body: dict[str, Any]) -> Any:
        entry = self._recorded(body)
        if entry is not None:
            return self.tape.replay_result(entry)
        started = time.monotonic()  # the time the reply took is recorded: replayed at that pace
        result = self._record_errors(body, lambda: self.inner.result(body))
        if self.tape.recording:
            took = time.monotonic() - started
            if isinstance(result, BinaryResult):
                self.tape.record_binary(body, result.content, result.content_type, self.secrets(), took)
            else:
                self.tape.record_result(body, result, self.secrets(), took)
        return result

    def get(self, path: str) -> Any:
        body = {"interface": "http", "method": f"GET {path}"}
        entry = self._recorded(body)
        if entry is not None:
            return self.tape.replay_result(entry)
        started = time.monotonic()
        result = self._record_errors(body, lambda: self.inner.get(path))
        if self.tape.recording:
            self.tape.record_result(body, result, self.secrets(), time.monotonic() - started)
        return result

    def stream(self, body: dict[str, Any], tap: LineTap | None = None) -> ChunkStream:
        entry = self._recorded(body)
        if entry is not None:
            stop = threading.Event()
            return ChunkStream(self.tape.replay_chunks(entry, stop), NDJSON_TYPE, on_close=stop.set)
        if not self.tape.recording:
            return self.inner.stream(body, tap)
        lines: list[tuple[float, bytes]] = []

        def keep(offset: float, line: bytes) -> None:
            lines.append((offset, line))
            if tap is not None:
                tap(offset, line)

        opened: ChunkStream = self._record_errors(body, lambda: self.inner.stream(body, keep))

        def recorded() -> Generator[Chunk, None, None]:
            yield from opened
            self.tape.record_stream(body, lines, self.secrets())  # only a stream that ran to its end

        return ChunkStream(recorded(), opened.content_type, on_close=opened.close)
