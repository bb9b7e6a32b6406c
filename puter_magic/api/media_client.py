"""PuterClient's media methods, named as puter.js names them: ``txt2img``, ``txt2speech``,
``speech2txt``, ``img2txt``, ``speech2speech`` (the voice changer), ``txt2vid``; and the voices
and engines of text-to-speech (``voices``, ``tts_engines``). Each is one driver call through
the client's one Wire (so recording and replaying work for them too), its input checked before
sending and its reply read whatever form it took (see :mod:`.media_results`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .media import OCR_LIMIT, SPEECH_LIMIT, TTS_TEXT_LIMIT, MediaInputError, load_input, ratio_arg
from .media_results import (
    AudioResult,
    ImageResult,
    MediaFetcher,
    OCRResult,
    Transcript,
    VideoResult,
    audio_result,
    image_result,
    ocr_result,
    transcript,
    video_result,
)
from .origin import is_loopback_host
from .protocol import (
    IMAGE_INTERFACE,
    OCR_INTERFACE,
    SPEECH2SPEECH_INTERFACE,
    SPEECH2TXT_INTERFACE,
    TTS_INTERFACE,
    VIDEO_INTERFACE,
    build_call,
)

if TYPE_CHECKING:
    from .origin import Origin
    from .transport import Transport, Wire

__all__ = ["MediaMethods"]

VIDEO_TIMEOUT = 900.0  # seconds: Puter polls the provider while the request stays open (Gemini: 10 min)


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v is not False}


class MediaMethods:
    """Mixed into :class:`~puter_magic.api.client.PuterClient`."""

    _wire: Wire
    _origin: Origin
    _transport: Transport

    def media_fetcher(self) -> MediaFetcher:
        """What fetches reply URLs: a plain session that never carries the token. Plain http
        is allowed only to loopback, and only when this client's origin is loopback too. A
        client whose requests go through an adapter (a server in this process) fetches the
        URLs on its own origin through it too."""
        adapter = self._transport.adapter
        return MediaFetcher(
            allow_loopback_http=is_loopback_host(self._origin.host),
            adapters={self._origin.url + "/": adapter} if adapter is not None else None,
        )

    def _secrets(self) -> tuple[str | None, ...]:
        return ()  # PuterClient's: the token, to keep out of what is fetched and shown

    def _patient(self, seconds: float) -> AbstractContextManager[None]:
        raise NotImplementedError  # PuterClient's: longer timeouts for one call

    def _media_call(self, interface: str, method: str, args: dict[str, Any]) -> Any:
        return self._wire.result(build_call(interface, method, args))

    def txt2img(
        self,
        prompt: str,
        *,
        model: str | None = None,
        quality: str | None = None,
        ratio: Any = None,
        test_mode: bool = False,
        **args: Any,
    ) -> ImageResult:
        """Generate an image (``puter-image-generation`` ``generate``).

        *ratio* is ``"16:9"``, ``(16, 9)`` or ``{"w": 16, "h": 9}``; *test_mode* asks for
        Puter's free sample. Other keywords (``provider``, ``width``, ``seed``...) go into
        ``args`` as they are. The reply may be a data URL, an https URL or bytes: the result's
        ``data`` is the image either way (fetched without the token).
        """
        if not isinstance(prompt, str) or not prompt.strip():
            raise MediaInputError("txt2img needs a prompt")
        call = {"prompt": prompt, **_given(model=model, quality=quality, test_mode=test_mode), **args}
        if ratio is not None:
            call["ratio"] = ratio_arg(ratio)
        result = self._media_call(IMAGE_INTERFACE, "generate", call)
        return image_result(result, self.media_fetcher(), prompt=prompt, model=model, secrets=self._secrets())

    def txt2speech(
        self,
        text: str,
        *,
        voice: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        engine: str | None = None,
        language: str | None = None,
        test_mode: bool = False,
        **args: Any,
    ) -> AudioResult:
        """Speak *text* (``puter-tts`` ``synthesize``): raw audio bytes, or a URL to them."""
        if not isinstance(text, str) or not text.strip():
            raise MediaInputError("txt2speech needs some text")
        if len(text) > TTS_TEXT_LIMIT:
            raise MediaInputError(
                f"the text is {len(text):,} characters, over Puter's {TTS_TEXT_LIMIT:,}-character "
                "limit for text-to-speech; nothing was sent"
            )
        options = _given(
            voice=voice, provider=provider, model=model, engine=engine, language=language, test_mode=test_mode
        )
        result = self._media_call(TTS_INTERFACE, "synthesize", {"text": text, **options, **args})
        return audio_result(result, self.media_fetcher(), text=text, secrets=self._secrets())

    def speech2txt(
        self,
        file: Any,
        *,
        model: str | None = None,
        language: str | None = None,
        translate: bool = False,
        response_format: str | None = None,
        **args: Any,
    ) -> Transcript:
        """Transcribe audio (``puter-speech2txt`` ``transcribe``; ``translate=True``: into English).

        *file* is a path, bytes, a file object, an https or data: URL, a Puter path or an
        AudioResult; over 25 MB it is refused before sending.
        """
        call = _given(model=model, language=language, response_format=response_format)
        if file is not None or not args.get("test_mode"):
            call["file"] = load_input(file, accept="audio", limit=SPEECH_LIMIT).value
        method = "translate" if translate else "transcribe"
        return transcript(self._media_call(SPEECH2TXT_INTERFACE, method, {**call, **args}))

    def img2txt(self, source: Any, *, provider: str | None = None, **args: Any) -> OCRResult:
        """Read the text in an image or PDF (``puter-ocr`` ``recognize``); over 10 MB it is
        refused before sending. Textract's and Mistral's reply shapes both give ``text``."""
        call = _given(provider=provider)
        if source is not None or not args.get("test_mode"):
            call["source"] = load_input(source, accept="document", limit=OCR_LIMIT).value
        return ocr_result(self._media_call(OCR_INTERFACE, "recognize", {**call, **args}))

    def speech2speech(
        self,
        audio: Any,
        *,
        voice: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        test_mode: bool = False,
        **args: Any,
    ) -> AudioResult:
        """Say *audio* again in another voice (``puter-speech2speech`` ``convert``, ElevenLabs'
        voice changer). *voice* is the provider's voice id, sent as given.

        *audio* is a path, bytes, a file object, a data: URL, a Puter path or an AudioResult
        (not an https URL: Puter reads this input only as data or from your storage); over
        25 MB it is refused before sending. In test mode it may be None.
        """
        call = _given(voice=voice, model=model, provider=provider, test_mode=test_mode)
        if audio is not None or not test_mode:
            found = load_input(audio, accept="audio", limit=SPEECH_LIMIT)
            if found.kind == "url":
                raise MediaInputError(
                    "the voice changer takes a file, bytes or a Puter path, not a URL "
                    "(Puter does not download it); download it and give the file instead"
                )
            call["audio"] = found.value
        result = self._media_call(SPEECH2SPEECH_INTERFACE, "convert", {**call, **args})
        return audio_result(result, self.media_fetcher(), secrets=self._secrets())

    def txt2vid(
        self,
        prompt: str,
        *,
        model: str | None = None,
        seconds: float | None = None,
        size: str | None = None,
        test_mode: bool = False,
        timeout: float = VIDEO_TIMEOUT,
        **args: Any,
    ) -> VideoResult:
        """Make a video (``puter-video-generation`` ``generate``).

        Puter keeps the request open while the provider renders (minutes), so this call waits
        up to *timeout* seconds, longer than the client's usual timeouts. *seconds* and *size*
        (``"1280x720"``) are snapped by the server to what the model allows. The reply is an
        https URL or a data: URL; the result's ``data`` is the video (fetched without the token).
        """
        if not isinstance(prompt, str) or not prompt.strip():
            raise MediaInputError("txt2vid needs a prompt")
        call = {
            "prompt": prompt,
            **_given(model=model, seconds=seconds, size=size, test_mode=test_mode),
            **args,
        }
        with self._patient(timeout):
            result = self._media_call(VIDEO_INTERFACE, "generate", call)
        return video_result(result, self.media_fetcher(), prompt=prompt, model=model, secrets=self._secrets())

    def voices(self, provider: str | None = None) -> list[dict[str, Any]]:
        """The voices text-to-speech offers (``puter-tts`` ``list_voices``): ``id``, ``name``,
        ``language``, ``provider``..., of one *provider* or all of them."""
        return _entries(self._media_call(TTS_INTERFACE, "list_voices", _given(provider=provider)), "voice")

    def tts_engines(self, provider: str | None = None) -> list[dict[str, Any]]:
        """The engines (models) text-to-speech offers (``puter-tts`` ``list_engines``)."""
        return _entries(self._media_call(TTS_INTERFACE, "list_engines", _given(provider=provider)), "engine")


def _entries(result: Any, what: str) -> list[dict[str, Any]]:
    from .errors import MalformedResponse

    if not isinstance(result, list):
        raise MalformedResponse(f"the {what} list is not a list")
    return [item for item in result if isinstance(item, dict)]
