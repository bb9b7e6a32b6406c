"""Puter's AI beyond chat, from a cell: ``%%puter_image``, ``%%puter_speak`` (and its voices),
``%puter_voice``, ``%%puter_video``, ``%puter_transcribe``, ``%puter_ocr`` and ``%puter_call``
(their adapters are :class:`~.magics.MediaMagics`): what they do step by step (check the
input, call Puter, fetch and check what came back, save it, show it) and what they show
besides the image or player itself.

A bad input (a missing file, a variable of the wrong kind, an input over Puter's limit, a
``--save`` into a missing folder) is a ``UsageError`` raised before anything is sent; a Puter or
network failure (a reply URL that is not https, an "image" that is an HTML page, a download
over the limit) is one warning, and ``--save`` writes nothing then. Every view is bounded and
has a ``text/plain`` that reads well in a terminal; images and players are the api's results
themselves (an ``image/*`` output, an ``<audio controls>`` player).
"""

from __future__ import annotations

import contextlib
import html
import json
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.error import UsageError

from ..api.errors import PuterError
from .classroom.gate import Refusal
from .state import Flow
from .views import MUTED, footer_html

if TYPE_CHECKING:
    from ..api.chat import ChatReply
    from ..api.media_results import AudioResult, ImageResult, MediaResult, OCRResult, Transcript, VideoResult
    from ..api.protocol import BinaryResult
    from .classroom.gate import Ticket
    from .live import CellOutput
    from .session import ReplayMark

__all__ = [
    "BinaryNote",
    "Footer",
    "JsonView",
    "MediaFlow",
    "TextView",
    "bounded_json",
    "chat_images",
    "check_save",
    "resolve_source",
    "usage_errors",
]

# -- the flow ---------------------------------------------------------------------------------------

T = TypeVar("T")
WORKING_TICK = 0.25  # how often the "working…" line of a media cell is redrawn
DEFAULT_MODEL = "the server's default model"  # media replies do not say which model answered


def _model_part(model: str | None, unnamed: bool) -> str:
    """The footer's model: the one asked for, else the server's default, else nothing when
    *unnamed* (a test-mode sample comes from no model; a named provider says enough)."""
    return model or ("" if unnamed else DEFAULT_MODEL)


@contextlib.contextmanager
def usage_errors(prefix: str = "") -> Iterator[None]:
    """An input the client refused becomes the cell's one-line UsageError."""
    from ..api.media import MediaInputError

    try:
        yield
    except MediaInputError as err:
        raise UsageError(f"{prefix}{err}") from None


def resolve_source(text: str, namespace: Mapping[str, Any], option: str) -> tuple[Any, str]:
    """What SOURCE names: a variable's value when there is one by that name, else the text
    itself (a file path or a URL). A bare name that is neither is a UsageError."""
    text = text.strip()
    if not text:
        raise UsageError(f"{option} needs a file, a URL or a variable name")
    if text.isidentifier() and text in namespace:
        value = namespace[text]
        return value, text if not isinstance(value, str) else f"{text} ({value})"
    if text.isidentifier() and not Path(text).exists():
        raise UsageError(f"{option} {text}: no variable and no file of that name")
    return text, text


def chat_images(sources: list[str], namespace: Mapping[str, Any]) -> tuple[list[Any], str]:
    """The images of ``%%puter --image``, checked before anything is sent, and a note naming them."""
    from ..api.media import IMAGE_LIMIT, PuterPath, image_parts, load_input

    values, names = [], []
    for source in sources:
        value, name = resolve_source(source, namespace, "--image")
        with usage_errors(f"--image {source}: "):
            try:
                item = load_input(value, accept="image", limit=IMAGE_LIMIT)
            except PuterError as err:  # an earlier result whose URL cannot be fetched now
                raise UsageError(f"--image {source}: could not get the image: {err.message}") from None
        values.append(
            PuterPath(item.value) if item.kind == "puter" and isinstance(item.value, str) else item.value
        )
        names.append(f"{name} ({item.describe().split(', ', 1)[-1]})" if item.kind == "data" else name)
    with usage_errors("--image: "):
        image_parts(values)  # the total size, once
    return values, f"with {len(values)} image{'s' if len(values) != 1 else ''}: {', '.join(names)}"


def check_save(path: str | None) -> None:
    """Refuse a ``--save`` that cannot be written before anything is sent."""
    if path is None:
        return
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise UsageError(f"--save {path}: the folder {target.parent} does not exist")
    if target.is_dir():
        raise UsageError(f"--save {path}: that is a folder; give a file name")


class MediaFlow(Flow):
    """Images, speech, the voice changer, video, transcripts, OCR and any driver call, in a cell."""

    def _client(self) -> Any:
        self.session.check_budget(self.settings.budget_usd_cents)
        return self.session.require_client()

    _replays: ReplayMark | None = None  # the recording before this cell's request
    _handle: Any = None  # the "working…" line's display, while there is one
    _output: CellOutput | None = None

    @property
    def output(self) -> CellOutput:
        """The cell's output (chosen once, as for every cell)."""
        if self._output is None:
            from .live import cell_output

            self._output = cell_output(self.settings, self.display)
        return self._output

    def _start_count(self) -> None:
        self._replays = self.session.replays()

    def _count(self, name: str, usage: dict[str, Any] | None = None, *, tokens: bool = False) -> list[str]:
        """Count one request in the notebook's usage meter (``%puter_usage``), unless it was
        answered from a recording; the footer note a replay gets."""
        if self._replays is not None and self._replays.happened():
            return self._replays.notes()
        self.session.meter.add(name, usage, tokens=tokens)
        return []

    def _working(self, label: str, ask: Callable[[], T]) -> T:
        """*ask()*, with a quiet "working… 1.2 s" line until it returns, in a notebook (the
        result replaces it); a terminal, or Python in a web page (no threads), just waits. Its
        exception is raised here."""
        self._start_count()
        from ..api import runtime

        if not self.output.live or not runtime.can_thread():  # a browser's Python: no thread to wait on
            return ask()
        from .views import MUTED

        started = time.monotonic()

        def line() -> dict[str, str]:
            text = f"{label}… {time.monotonic() - started:.1f} s"
            return {
                "text/plain": text,
                "text/html": f'<div class="puter-thinking" style="{MUTED}">{html.escape(text)}</div>',
            }

        self._handle = self.display(line(), raw=True, display_id=True)
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = ask()
            except BaseException as exc:  # handed to the main thread, raised there
                box["error"] = exc

        worker = threading.Thread(target=work, name="puter-media", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(WORKING_TICK)
                if worker.is_alive():
                    self._handle.update(line(), raw=True)
        except KeyboardInterrupt:  # the stop button: the reply, if it comes, is dropped
            self._clear()
            raise
        if "error" in box:
            if not isinstance(box["error"], PuterError) or self.failures.raising:
                self._clear()  # a warning takes the line's place; anything raised leaves none
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    def _clear(self) -> None:
        """Take the working line away (nothing is shown in its place)."""
        if self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)
            self._handle = None

    def replace(self, obj: Any) -> None:
        """A warning, in place of the working line (see :class:`~.failures.Placed`)."""
        self._show(obj)

    def _show(self, obj: Any, **kwargs: Any) -> None:
        """The result, in place of the working line (a terminal: displayed)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.update(obj, **kwargs)
        else:
            self.display(obj, **kwargs)

    def _admit(self, model: str | None, prompt: str, kind: str = "media") -> Ticket | None:
        """The classroom's ticket for this request, or None when its rules refuse it (a note
        says so, and nothing is sent)."""
        ticket = self.session.classroom.admit(model=model, prompt=prompt, kind=kind)
        if isinstance(ticket, Refusal):
            self.display(ticket)
            return None
        return ticket

    def _finish(
        self,
        result: MediaResult,
        started: float,
        save: str | None,
        parts: list[str],
        ticket: Ticket,
        notes: list[str],
    ) -> None:
        """Fetch and check the bytes, save them, show them with a footer."""
        from ..api.humanize import human_size

        data = result.data  # a reply URL is fetched here (without the token) and checked
        notes = list(notes)
        if save is not None:
            try:
                where = result.save(save)
            except OSError as exc:
                self._clear()
                raise UsageError(f"--save {save}: {exc.strerror or exc}") from None
            notes.append(f"saved to {where} ({human_size(len(data))})")
        # A notebook shows the picture or the player, not its text/plain: the footer names
        # what it is and where it came from. A terminal prints that text/plain already.
        what = result.summary().splitlines() if self.output.live else []
        if what[1:]:
            notes.append(f"from {what[1]}")
        model = getattr(result, "model", None)
        ticket.answered(result.summary(), model=model)
        self._show(result, metadata=ticket.stamp(model, {}, time.monotonic() - started))
        if what or any(parts) or notes:  # in a terminal, a footer of only the time is noise
            self.display(Footer([*what[:1], *parts, f"{time.monotonic() - started:.1f} s"], notes))

    def image(
        self,
        prompt: str,
        *,
        model: str | None,
        quality: str | None,
        ratio: str | None,
        test: bool,
        save: str | None,
    ) -> ImageResult | None:
        check_save(save)
        ticket = self._admit(model, prompt)
        if ticket is None:
            return None
        started = time.monotonic()
        with self.failures.guard(self, magic="%%puter_image"), usage_errors(), ticket.watch():
            client = self._client()
            result: ImageResult = self._working(
                "drawing",
                lambda: client.txt2img(prompt, model=model, quality=quality, ratio=ratio, test_mode=test),
            )
            from ..api.protocol import IMAGE_INTERFACE  # loaded when asked, not at %load_ext

            notes = self._count(model or IMAGE_INTERFACE)
            parts = [
                _model_part(model, test),
                "test mode: Puter's free sample, not your prompt" if test else "",
            ]
            self._finish(result, started, save, parts, ticket, notes)
            return result
        return None

    def speak(
        self,
        text: str,
        *,
        voice: str | None,
        provider: str | None,
        model: str | None,
        test: bool,
        save: str | None,
    ) -> AudioResult | None:
        check_save(save)
        ticket = self._admit(model, text)
        if ticket is None:
            return None
        started = time.monotonic()
        with self.failures.guard(self, magic="%%puter_speak"), usage_errors(), ticket.watch():
            client = self._client()
            result: AudioResult = self._working(
                "speaking",
                lambda: client.txt2speech(text, voice=voice, provider=provider, model=model, test_mode=test),
            )
            from ..api.protocol import TTS_INTERFACE  # loaded when asked, not at %load_ext

            notes = self._count(model or provider or TTS_INTERFACE)
            parts = [
                _model_part(model, test or provider is not None),
                provider or "",
                voice or "",
                "test mode: Puter's free sample" if test else "",
            ]
            self._finish(result, started, save, parts, ticket, notes)
            return result
        return None

    def voice(
        self,
        source: Any,
        name: str,
        *,
        voice: str | None,
        model: str | None,
        test: bool,
        save: str | None,
    ) -> AudioResult | None:
        """The voice changer: *source* said again in *voice* (sent as given), as a player."""
        check_save(save)
        ticket = self._admit(model, f"(audio: {name})" if source is not None else "(test sample)")
        if ticket is None:
            return None
        started = time.monotonic()
        with self.failures.guard(self, magic="%puter_voice"), usage_errors(), ticket.watch():
            client = self._client()
            result: AudioResult = self._working(
                "changing the voice",
                lambda: client.speech2speech(source, voice=voice, model=model, test_mode=test),
            )
            from ..api.protocol import (
                SPEECH2SPEECH_INTERFACE,
            )  # loaded when asked, not at %load_ext

            notes = self._count(model or SPEECH2SPEECH_INTERFACE)
            parts = [f"from {name}" if source is not None else "", voice or "", _model_part(model, test)]
            parts.append("test mode: Puter's free sample, not your recording" if test else "")
            self._finish(result, started, save, parts, ticket, notes)
            return result
        return None

    def video(
        self,
        prompt: str,
        *,
        model: str | None,
        seconds: float | None,
        size: str | None,
        test: bool,
        save: str | None,
    ) -> VideoResult | None:
        """Make a video and show a player (the call waits as long as video generation takes)."""
        check_save(save)
        ticket = self._admit(model, prompt)
        if ticket is None:
            return None
        started = time.monotonic()
        with self.failures.guard(self, magic="%%puter_video"), usage_errors(), ticket.watch():
            client = self._client()
            result: VideoResult = self._working(
                "making the video",
                lambda: client.txt2vid(prompt, model=model, seconds=seconds, size=size, test_mode=test),
            )
            from ..api.protocol import VIDEO_INTERFACE  # loaded when asked, not at %load_ext

            notes = self._count(model or VIDEO_INTERFACE)
            parts = [
                _model_part(model, test),
                "test mode: Puter's sample video, not your prompt" if test else "",
            ]
            self._finish(result, started, save, parts, ticket, notes)
            return result
        return None

    def voices(self, provider: str | None) -> list[dict[str, Any]] | None:
        """The voices (and engines) text-to-speech offers, as a table."""
        from .views import VoicesTable

        with self.failures.guard():
            client = self._client()
            voices: list[dict[str, Any]] = client.voices(provider)
            engines = client.tts_engines(provider)
            self.display(VoicesTable(voices, engines, provider))
            return voices
        return None

    def transcribe(
        self, source: Any, name: str, *, translate: bool, language: str | None, test: bool = False
    ) -> Transcript | None:
        ticket = self._admit(None, f"(audio: {name})" if name else "(test sample)")
        if ticket is None:
            return None
        started = time.monotonic()
        with self.failures.guard(magic="%puter_transcribe"), usage_errors(), ticket.watch():
            client = self._client()
            self._start_count()
            heard: Transcript = client.speech2txt(
                source, translate=translate, language=language, **({"test_mode": True} if test else {})
            )
            from ..api.protocol import (
                SPEECH2TXT_INTERFACE,
            )  # loaded when asked, not at %load_ext

            notes = self._count(heard.model or SPEECH2TXT_INTERFACE)
            what = "translated" if translate else "transcribed"
            sample = "test mode: Puter's free sample, not your audio" if test else ""
            parts = [f"{what} from {name}" if name else "", heard.model or "", heard.language or "", sample]
            ticket.answered(heard.text, model=heard.model)
            elapsed = time.monotonic() - started
            self.display(
                TextView(heard.text, Footer([*parts, f"{elapsed:.1f} s"], notes)),
                metadata=ticket.stamp(heard.model, {}, elapsed),
            )
            return heard
        return None

    def ocr(self, source: Any, name: str, *, provider: str | None, test: bool = False) -> OCRResult | None:
        ticket = self._admit(None, f"(image: {name})" if name else "(test sample)")
        if ticket is None:
            return None
        started = time.monotonic()
        with self.failures.guard(magic="%puter_ocr"), usage_errors(), ticket.watch():
            client = self._client()
            self._start_count()
            read: OCRResult = client.img2txt(
                source, provider=provider, **({"test_mode": True} if test else {})
            )
            from ..api.protocol import OCR_INTERFACE  # loaded when asked, not at %load_ext

            notes = self._count(read.model or provider or OCR_INTERFACE)
            lines = f"{len(read.blocks)} block{'s' if len(read.blocks) != 1 else ''}" if read.blocks else ""
            sample = "test mode: Puter's free sample, not your image" if test else ""
            parts = [f"read from {name}" if name else "", provider or "", read.model or "", lines, sample]
            ticket.answered(read.text, model=read.model)
            elapsed = time.monotonic() - started
            self.display(
                TextView(read.text, Footer([*parts, f"{elapsed:.1f} s"], notes)),
                metadata=ticket.stamp(read.model, {}, elapsed),
            )
            return read
        return None

    def call(
        self, interface: str, method: str, args: dict[str, Any], driver: str | None, out: str | None = None
    ) -> Any:
        """Any driver call. A streamed reply (``"stream": true``) shows its text and is kept
        (in *out*) as a :class:`~puter_magic.api.chat.ChatReply`; the rest as they came."""
        from ..api.humanize import human_size
        from ..api.protocol import NDJSON_TYPE, BinaryResult
        from .classroom.gate import CATALOGUE, CHAT_INTERFACES

        lists_models = interface in CHAT_INTERFACES and method in ("models", "list")
        asks_chat = interface in CHAT_INTERFACES and not lists_models
        model = args.get("model") if asks_chat else None
        described = json.dumps(args, default=str)
        ticket = self._admit(
            model if isinstance(model, str) else None,
            f"{interface} {method} {described[:2000]}",
            kind=interface if asks_chat else CATALOGUE if lists_models else "call",
        )
        if ticket is None:
            return None
        started = time.monotonic()
        with self.failures.guard(magic="%puter_call"), ticket.watch():
            client = self._client()
            self._start_count()
            result = client.call(interface, method, args, driver)
            named = args.get("model") if isinstance(args.get("model"), str) else None
            if isinstance(result, BinaryResult) and result.content_type == NDJSON_TYPE:
                from .views import ReplyView

                reply = _streamed_reply(result, named, client)
                notes = self._count(named or f"{interface} {method}", reply.usage, tokens=True)
                ticket.answered(reply.text, model=named)
                where = [f"the whole reply is in {out}"] if out else []
                note = f"{interface} {method}, streamed: {human_size(len(result.content))}"
                elapsed = time.monotonic() - started
                self.display(
                    ReplyView(
                        reply.text,
                        model=named,
                        usage=reply.usage,
                        elapsed=elapsed,
                        notes=[note, *where, *notes],
                        reasoning=reply.reasoning if self.settings.show_reasoning else "",
                        show_footer=self.settings.show_footer,
                        limit=self.settings.max_display_chars,
                        where=f"in {out}" if out else "",
                        metadata=ticket.stamp(named, reply.usage, elapsed),
                    )
                )
                return reply
            usage = _chat_usage(result) if isinstance(result, dict) else None
            notes = self._count(named or f"{interface} {method}", usage, tokens=usage is not None)
            shown: Any = JsonView(result)
            if isinstance(result, BinaryResult):
                shown = self._binary(client, result, out)
            ticket.answered(
                json.dumps(result, default=str)[:20_000]
                if not isinstance(result, BinaryResult)
                else f"{result.content_type}, {len(result.content)} bytes"
            )
            elapsed = time.monotonic() - started
            self.display(shown, metadata=ticket.stamp(named, usage, elapsed))  # where it came from
            self.display(Footer([f"{interface} {method}", f"{elapsed:.1f} s"], notes))
            return result
        return None

    def _binary(self, client: Any, result: BinaryResult, out: str | None) -> Any:
        """An image or audio reply as one (checked against its bytes); anything else named."""
        from ..api.media_results import audio_result, image_result

        if result.content_type.startswith("image/"):
            return image_result(result, client.media_fetcher())
        if result.content_type.startswith("audio/"):
            return audio_result(result, client.media_fetcher())
        return BinaryNote(result.content_type, len(result.content), f"in {out}" if out else "")


def _streamed_reply(result: BinaryResult, model: str | None, client: Any) -> ChatReply:
    """The chat reply a stream's NDJSON lines add up to (an error line raises StreamError)."""
    from ..api.chat import ChatStream
    from ..api.chunks import Chunk, ChunkStream, iter_lines, parse_ndjson
    from ..api.protocol import NDJSON_TYPE

    def lines() -> Generator[Chunk, None, None]:
        yield from parse_ndjson(iter_lines([result.content]), strict=False)

    chunks = ChunkStream(lines(), NDJSON_TYPE)
    return ChatStream(chunks, model, client._secrets()).reply()


def _chat_usage(result: dict[str, Any]) -> dict[str, Any] | None:
    """The usage of a whole chat reply (``{message, usage}``); None for anything else."""
    usage = result.get("usage")
    if "message" not in result or not isinstance(usage, dict):
        return None
    return usage


# -- the views --------------------------------------------------------------------------------------

Bundle = dict[str, Any]
MAX_TEXT = 20_000  # characters of a transcript or OCR text shown (all of it is in --out)
MAX_STRING = 300  # characters of one JSON string shown
MAX_ITEMS = 100  # items of one JSON list or object shown
MAX_PLAIN_LINES = 200


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass
class Footer:
    """One muted line under a media output: ``sandbox-image · 0.2 s · saved to kite.png``."""

    parts: list[str]
    notes: list[str] = field(default_factory=list)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        lines = [" · ".join(p for p in self.parts if p), *self.notes]
        lines = [line for line in lines if line]
        return {"text/plain": "\n".join(lines), "text/html": footer_html(lines)}

    def __repr__(self) -> str:
        return str(self._repr_mimebundle_()["text/plain"])


@dataclass
class TextView:
    """Text heard in speech or read in a picture: paragraphs kept, a quiet footer naming the source."""

    text: str
    footer: Footer

    def _shown(self) -> tuple[str, str]:
        if len(self.text) <= MAX_TEXT:
            return self.text, ""
        rest = len(self.text) - MAX_TEXT
        return self.text[:MAX_TEXT], f"… {rest:,} more characters (the whole text is in --out VAR)"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        shown, cut = self._shown()
        foot = self.footer._repr_mimebundle_()
        empty = "(no text found)"
        plain = (shown or empty) + (f"\n{cut}" if cut else "") + f"\n\n{foot['text/plain']}"
        body = f'<div class="puter-text" style="white-space: pre-wrap">{_esc(shown) or _esc(empty)}</div>'
        if cut:
            body += f'<div style="{MUTED}">{_esc(cut)}</div>'
        return {"text/plain": plain, "text/html": f'<div class="puter-reply">{body}{foot["text/html"]}</div>'}

    def __repr__(self) -> str:
        return str(self._repr_mimebundle_()["text/plain"])


def bounded_json(value: Any, depth: int = 0) -> Any:
    """*value* with long strings, long lists and deep nesting cut, marked where they were."""
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else value[:MAX_STRING] + f"… ({len(value):,} characters)"
    if depth >= 12 and isinstance(value, (dict, list)):
        return "…"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k): bounded_json(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…"] = f"{len(items) - MAX_ITEMS} more keys"
        return out
    if isinstance(value, (list, tuple)):
        shown = [bounded_json(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            shown.append(f"… {len(value) - MAX_ITEMS} more items")
        return shown
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


@dataclass
class JsonView:
    """A driver call's JSON result: the frontend's JSON viewer, and indented text for terminals."""

    value: Any

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        shown = bounded_json(self.value)
        lines = json.dumps(shown, indent=2, ensure_ascii=False).splitlines()
        if len(lines) > MAX_PLAIN_LINES:
            lines = [*lines[:MAX_PLAIN_LINES], f"… {len(lines) - MAX_PLAIN_LINES} more lines"]
        return {"application/json": shown, "text/plain": "\n".join(lines)}

    def __repr__(self) -> str:
        return str(self._repr_mimebundle_()["text/plain"])


@dataclass
class BinaryNote:
    """A binary reply that is neither an image nor audio: its type and size, and where it is."""

    content_type: str
    size: int
    where: str = ""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        from ..api.humanize import human_size

        text = f"{self.content_type}, {human_size(self.size)}" + (f" ({self.where})" if self.where else "")
        return {"text/plain": text, "text/html": f'<div style="{MUTED}">{_esc(text)}</div>'}
