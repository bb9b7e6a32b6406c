"""What the media cells do, step by step: check the input, call Puter, fetch and check what
came back, save it, show it.

:class:`MediaFlow` is a plain object the magics own, like :class:`~.asking.AskFlow`: it gets
the session, a snapshot of the settings, a display function and the notebook's
:class:`~.failures.Failures`. A bad input (a missing file, a variable of the wrong kind, an
input over Puter's limit, a ``--save`` into a missing folder) is a ``UsageError`` raised before
anything is sent; a Puter or network failure (a reply URL that is not https, an "image" that is
an HTML page, a download over the limit) is one warning, and ``--save`` writes nothing then.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..api.errors import PuterError
from ..api.media import IMAGE_LIMIT, MediaInputError, PuterPath, image_parts, load_input
from ..api.mediatypes import human_size
from ..api.protocol import BinaryResult
from .classroom import Refusal
from .flow import Flow
from .media_views import BinaryNote, Footer, JsonView, TextView

if TYPE_CHECKING:
    from ..api.media_results import AudioResult, ImageResult, MediaResult, VideoResult
    from ..api.media_text import OCRResult, Transcript
    from .classroom import Ticket

__all__ = ["MediaFlow", "chat_images", "check_save", "resolve_source", "usage_errors"]


@contextlib.contextmanager
def usage_errors(prefix: str = "") -> Iterator[None]:
    """An input the client refused becomes the cell's one-line UsageError."""
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

    def _admit(self, model: str | None, prompt: str, kind: str = "media") -> Ticket | None:
        """The classroom's ticket for this request, or None when its rules refuse it (a note
        says so, and nothing is sent)."""
        ticket = self.session.classroom.admit(model=model, prompt=prompt, kind=kind)
        if isinstance(ticket, Refusal):
            self.display(ticket)
            return None
        return ticket

    def _finish(
        self, result: MediaResult, started: float, save: str | None, parts: list[str], ticket: Ticket
    ) -> None:
        """Fetch and check the bytes, save them, show them with a footer."""
        data = result.data  # a reply URL is fetched here (without the token) and checked
        notes = []
        if save is not None:
            try:
                where = result.save(save)
            except OSError as exc:
                raise UsageError(f"--save {save}: {exc.strerror or exc}") from None
            notes.append(f"saved to {where} ({human_size(len(data))})")
        # A notebook shows the picture or the player, not its text/plain: the footer names
        # what it is and where it came from. A terminal prints that text/plain already.
        what = result.summary().splitlines() if self.settings.rich else []
        if what[1:]:
            notes.append(f"from {what[1]}")
        model = getattr(result, "model", None)
        ticket.answered(result.summary(), model=model)
        self.display(result, metadata=ticket.stamp(model, {}, time.monotonic() - started))
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
        with self.failures.guard(magic="%%puter_image"), usage_errors(), ticket.watch():
            result: ImageResult = self._client().txt2img(
                prompt, model=model, quality=quality, ratio=ratio, test_mode=test
            )
            parts = [model or "", "test mode: Puter's free sample, not your prompt" if test else ""]
            self._finish(result, started, save, parts, ticket)
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
        with self.failures.guard(magic="%%puter_speak"), usage_errors(), ticket.watch():
            client = self._client()
            result: AudioResult = client.txt2speech(
                text, voice=voice, provider=provider, model=model, test_mode=test
            )
            parts = [provider or "", voice or "", "test mode: Puter's free sample" if test else ""]
            self._finish(result, started, save, parts, ticket)
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
        with self.failures.guard(magic="%puter_voice"), usage_errors(), ticket.watch():
            result: AudioResult = self._client().speech2speech(
                source, voice=voice, model=model, test_mode=test
            )
            parts = [f"from {name}" if source is not None else "", voice or "", model or ""]
            parts.append("test mode: Puter's free sample, not your recording" if test else "")
            self._finish(result, started, save, parts, ticket)
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
        with self.failures.guard(magic="%%puter_video"), usage_errors(), ticket.watch():
            result: VideoResult = self._client().txt2vid(
                prompt, model=model, seconds=seconds, size=size, test_mode=test
            )
            parts = [model or "", "test mode: Puter's sample video, not your prompt" if test else ""]
            self._finish(result, started, save, parts, ticket)
            return result
        return None

    def voices(self, provider: str | None) -> list[dict[str, Any]] | None:
        """The voices (and engines) text-to-speech offers, as a table."""
        from .tables import VoicesTable

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
            heard: Transcript = self._client().speech2txt(
                source, translate=translate, language=language, **({"test_mode": True} if test else {})
            )
            what = "translated" if translate else "transcribed"
            sample = "test mode: Puter's free sample, not your audio" if test else ""
            parts = [f"{what} from {name}" if name else "", heard.model or "", heard.language or "", sample]
            ticket.answered(heard.text, model=heard.model)
            elapsed = time.monotonic() - started
            self.display(
                TextView(heard.text, Footer([*parts, f"{elapsed:.1f} s"])),
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
            read: OCRResult = self._client().img2txt(
                source, provider=provider, **({"test_mode": True} if test else {})
            )
            lines = f"{len(read.blocks)} block{'s' if len(read.blocks) != 1 else ''}" if read.blocks else ""
            sample = "test mode: Puter's free sample, not your image" if test else ""
            parts = [f"read from {name}" if name else "", provider or "", read.model or "", lines, sample]
            ticket.answered(read.text, model=read.model)
            elapsed = time.monotonic() - started
            self.display(
                TextView(read.text, Footer([*parts, f"{elapsed:.1f} s"])),
                metadata=ticket.stamp(read.model, {}, elapsed),
            )
            return read
        return None

    def call(self, interface: str, method: str, args: dict[str, Any], driver: str | None) -> Any:
        from .classroom import CHAT_INTERFACES

        asks_chat = interface in CHAT_INTERFACES and method not in ("models", "list")
        model = args.get("model") if asks_chat else None
        described = json.dumps(args, default=str)
        ticket = self._admit(
            model if isinstance(model, str) else None,
            f"{interface} {method} {described[:2000]}",
            kind=interface if asks_chat else "call",
        )
        if ticket is None:
            return None
        started = time.monotonic()
        with self.failures.guard(magic="%puter_call"), ticket.watch():
            client = self._client()
            result = client.call(interface, method, args, driver)
            shown: Any = JsonView(result)
            if isinstance(result, BinaryResult):
                shown = self._binary(client, result)
            ticket.answered(
                json.dumps(result, default=str)[:20_000]
                if not isinstance(result, BinaryResult)
                else f"{result.content_type}, {len(result.content)} bytes"
            )
            self.display(shown)
            self.display(Footer([f"{interface} {method}", f"{time.monotonic() - started:.1f} s"]))
            return result
        return None

    def _binary(self, client: Any, result: BinaryResult) -> Any:
        """An image or audio reply as one (checked against its bytes); anything else named."""
        from ..api.media_results import audio_result, image_result

        if result.content_type.startswith("image/"):
            return image_result(result, client.media_fetcher())
        if result.content_type.startswith("audio/"):
            return audio_result(result, client.media_fetcher())
        return BinaryNote(result.content_type, len(result.content), "in --out VAR")
