"""A recording layered over the network: :class:`TapeWire`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from .chunks import Chunk, ChunkStream
from .errors import PuterError
from .protocol import NDJSON_TYPE, BinaryResult
from .transport import LineTap, Wire

if TYPE_CHECKING:
    from .tape import Tape

__all__ = ["TapeWire"]


class TapeWire:
    """A :class:`~puter_magic.api.wire.Wire` that records to, or replays from, a :class:`Tape`.

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
        if self.tape.mode != "replay":
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
            if self.tape.mode == "record":
                self.tape.record_error(body, err, self.secrets(), time.monotonic() - started)
            raise

    def result(self, body: dict[str, Any]) -> Any:
        entry = self._recorded(body)
        if entry is not None:
            return self.tape.replay_result(entry)
        started = time.monotonic()  # the time the reply took is recorded: replayed at that pace
        result = self._record_errors(body, lambda: self.inner.result(body))
        if self.tape.mode == "record":
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
        if self.tape.mode == "record":
            self.tape.record_result(body, result, self.secrets(), time.monotonic() - started)
        return result

    def stream(self, body: dict[str, Any], tap: LineTap | None = None) -> ChunkStream:
        entry = self._recorded(body)
        if entry is not None:
            stop = threading.Event()
            return ChunkStream(self.tape.replay_chunks(entry, stop), NDJSON_TYPE, on_close=stop.set)
        if self.tape.mode != "record":
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
