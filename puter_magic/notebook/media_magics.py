"""%%puter_image, %%puter_speak (and its voices), %puter_voice, %%puter_video,
%puter_transcribe, %puter_ocr and %puter_call: Puter's AI beyond chat, from a cell. Thin
adapters: read the line, call :class:`~.media_flow.MediaFlow`, keep the result in ``--out``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from .arguments import parse_line
from .display import show

if TYPE_CHECKING:
    from .host import Host
    from .media_flow import MediaFlow

__all__ = ["MediaMagics"]

_NAME_ARGS = re.compile(r"\{([A-Za-z_]\w*)\}")


@magics_class
class MediaMagics(Magics):
    """``%%puter_image``, ``%%puter_speak``, ``%puter_transcribe``, ``%puter_ocr``, ``%puter_call``."""

    def __init__(self, shell: Any, *, host: Host) -> None:
        super().__init__(shell)
        self.host = host

    @property
    def _namespace(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    def _flow(self) -> MediaFlow:
        from .media_flow import MediaFlow

        return MediaFlow(self.host.session, self.host.settings(), show, self.host.failures)

    def _text_and_args(self, magic: Any, line: str, cell: str | None, name: str) -> tuple[str, Any]:
        """The text (the cell, or the line after its options) with ``{name}`` filled in, and the options."""
        if cell is None:
            from .lineform import split_options

            words, text = split_options(magic, line)
            args = magic.parser.parse_args(words)
        else:
            args, text = parse_line(magic, line), cell
        if not text.strip():
            raise UsageError(
                f"%{name} needs text: %%{name} [options] with the text in the cell, or %{name} TEXT"
            )
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a variable name, not {args.out!r}")
        if not args.no_interpolate:
            from .interpolate import interpolate

            text, _ = interpolate(text, self._namespace)
        return text.strip(), args

    def _begin(self, magic: str, args: Any) -> None:
        """Tell the classroom which magic asks, with which options (its log and metadata)."""
        from .provenance import options_of

        self.host.classroom.begin(magic, options_of(args))

    def _keep(self, out: str | None, value: Any) -> None:
        if out and value is not None:
            self._namespace[out] = value

    @magic_arguments()
    @argument("-m", "--model", help="the image model (default: the server's)")
    @argument("--quality", metavar="Q", help="the model's quality level, e.g. low, medium, high")
    @argument("--ratio", metavar="W:H", help="the shape, e.g. 16:9")
    @argument("--save", metavar="FILE", help="also write the image to FILE")
    @argument("--out", metavar="VAR", help="keep the image (an ImageResult) in variable VAR")
    @argument(
        "--test", action="store_true", help="Puter's free sample (test_mode): try the cell without spending"
    )
    @argument("--no-interpolate", action="store_true", help="send {name} as written")
    @line_cell_magic
    def puter_image(self, line: str, cell: str | None = None) -> None:
        """Make an image from the cell (the prompt) and show it; {name} is filled in as in %%puter.

        The line form, %puter_image [options] PROMPT, takes the same options before the prompt.
        """
        prompt, args = self._text_and_args(self.puter_image, line, cell, "puter_image")
        self._begin("%%puter_image" if cell is not None else "%puter_image", args)
        flow = self._flow()
        result = flow.image(
            prompt, model=args.model, quality=args.quality, ratio=args.ratio, test=args.test, save=args.save
        )
        self._keep(args.out, result)

    @magic_arguments()
    @argument("--voice", metavar="V", help="the voice (%%puter_speak --voices lists them)")
    @argument("--provider", metavar="P", help="the speech provider, e.g. openai, aws-polly, elevenlabs")
    @argument("--voices", action="store_true", help="list the voices and engines (of --provider P) instead")
    @argument("-m", "--model", help="the provider's model")
    @argument("--save", metavar="FILE", help="also write the audio to FILE")
    @argument("--out", metavar="VAR", help="keep the audio (an AudioResult) in variable VAR")
    @argument(
        "--test", action="store_true", help="Puter's free sample (test_mode): try the cell without spending"
    )
    @argument("--no-interpolate", action="store_true", help="send {name} as written")
    @line_cell_magic
    def puter_speak(self, line: str, cell: str | None = None) -> None:
        """Say the cell's text aloud: an audio player. {name} is filled in as in %%puter.

        The line form, %puter_speak [options] TEXT, takes the same options before the text.
        %puter_speak --voices [--provider P] lists the voices and engines instead.
        """
        from .lineform import split_options

        words, rest = split_options(self.puter_speak, line)
        early = (
            self.puter_speak.parser.parse_args(words) if cell is None else parse_line(self.puter_speak, line)
        )
        if early.voices:
            if (rest if cell is None else cell).strip():
                raise UsageError("%puter_speak --voices lists the voices: it takes no text")
            self._flow().voices(early.provider)
            return
        text, args = self._text_and_args(self.puter_speak, line, cell, "puter_speak")
        self._begin("%%puter_speak" if cell is not None else "%puter_speak", args)
        flow = self._flow()
        result = flow.speak(
            text, voice=args.voice, provider=args.provider, model=args.model, test=args.test, save=args.save
        )
        self._keep(args.out, result)

    @magic_arguments()
    @argument("source", nargs="?", help="an audio file, a Puter path, or a variable (bytes, an AudioResult)")
    @argument("--voice", metavar="V", help="the voice to say it in (the provider's voice id, sent as given)")
    @argument("-m", "--model", help="the provider's model (ElevenLabs: eleven_multilingual_sts_v2)")
    @argument("--save", metavar="FILE", help="also write the audio to FILE")
    @argument("--out", metavar="VAR", help="keep the audio (an AudioResult) in variable VAR")
    @argument(
        "--test", action="store_true", help="Puter's free sample (test_mode): try the cell without spending"
    )
    @line_magic
    def puter_voice(self, line: str) -> None:
        """The voice changer: say SOURCE again in another voice (--voice V) and play it.

        SOURCE is an audio file (at most 25 MB), a Puter path (puter:~/talk.mp3) or a variable
        holding audio bytes or an earlier result (%%puter_speak --out VAR); not a URL.
        """
        from .media_flow import resolve_source

        args = parse_line(self.puter_voice, line)
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a variable name, not {args.out!r}")
        source: Any = None
        name = ""
        if args.source is not None:
            source, name = resolve_source(args.source, self._namespace, "%puter_voice")
        elif not args.test:
            raise UsageError(
                "%puter_voice needs SOURCE: an audio file or a variable (--test tries it without)"
            )
        self._begin("%puter_voice", args)
        result = self._flow().voice(
            source, name, voice=args.voice, model=args.model, test=args.test, save=args.save
        )
        self._keep(args.out, result)

    @magic_arguments()
    @argument("-m", "--model", help="the video model (default: the server's)")
    @argument(
        "--seconds", type=float, metavar="N", help="how long (the server snaps it to what the model allows)"
    )
    @argument("--size", metavar="WxH", help="the frame size, e.g. 1280x720 (snapped as --seconds is)")
    @argument("--save", metavar="FILE", help="also write the video to FILE")
    @argument("--out", metavar="VAR", help="keep the video (a VideoResult) in variable VAR")
    @argument(
        "--test", action="store_true", help="Puter's free sample (test_mode): try the cell without spending"
    )
    @argument("--no-interpolate", action="store_true", help="send {name} as written")
    @line_cell_magic
    def puter_video(self, line: str, cell: str | None = None) -> None:
        """Make a video from the cell (the prompt) and show a player; {name} is filled in as in %%puter.

        Video generation keeps the request open for minutes: the cell waits up to 15 minutes.
        The line form, %puter_video [options] PROMPT, takes the same options before the prompt.
        """
        prompt, args = self._text_and_args(self.puter_video, line, cell, "puter_video")
        if args.seconds is not None and args.seconds <= 0:
            raise UsageError("--seconds is a positive number")
        self._begin("%%puter_video" if cell is not None else "%puter_video", args)
        result = self._flow().video(
            prompt, model=args.model, seconds=args.seconds, size=args.size, test=args.test, save=args.save
        )
        self._keep(args.out, result)

    @magic_arguments()
    @argument("source", nargs="?", help="an audio file, an https URL, or a variable (bytes, an AudioResult)")
    @argument("--translate", action="store_true", help="translate into English")
    @argument("--language", metavar="L", help="the language spoken, e.g. en (helps the model)")
    @argument("--out", metavar="VAR", help="keep the transcript (text, segments, words) in VAR")
    @argument(
        "--test",
        action="store_true",
        help="Puter's free sample (test_mode): try the cell without spending; SOURCE may be left out",
    )
    @line_magic
    def puter_transcribe(self, line: str) -> None:
        """Turn speech into text (at most 25 MB of audio). --test: Puter's free sample."""
        args = parse_line(self.puter_transcribe, line)
        source, name = self._source(args, "%puter_transcribe")
        result = self._flow().transcribe(
            source, name, translate=args.translate, language=args.language, test=args.test
        )
        self._keep(args.out, result)

    @magic_arguments()
    @argument(
        "source",
        nargs="?",
        help="an image or PDF file, an https URL, or a variable (bytes, an ImageResult, a figure)",
    )
    @argument("--provider", metavar="P", help="aws-textract (default) or mistral")
    @argument("--out", metavar="VAR", help="keep the result (text, blocks, pages) in VAR")
    @argument(
        "--test",
        action="store_true",
        help="Puter's free sample (test_mode): try the cell without spending; SOURCE may be left out",
    )
    @line_magic
    def puter_ocr(self, line: str) -> None:
        """Read the text in an image or a PDF (at most 10 MB). --test: Puter's free sample."""
        args = parse_line(self.puter_ocr, line)
        source, name = self._source(args, "%puter_ocr")
        result = self._flow().ocr(source, name, provider=args.provider, test=args.test)
        self._keep(args.out, result)

    def _source(self, args: Any, magic: str) -> tuple[Any, str]:
        """SOURCE as the flow takes it; with --test it may be left out (Puter's sample needs none)."""
        from .media_flow import resolve_source

        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a variable name, not {args.out!r}")
        self._begin(magic, args)
        if args.source is None:
            if not args.test:
                raise UsageError(
                    f"{magic} needs a file, a URL or a variable name (or --test for Puter's sample)"
                )
            return None, ""
        return resolve_source(args.source, self._namespace, magic)

    @magic_arguments()
    @argument("--driver", metavar="D", help="the driver (default: the interface's own)")
    @argument("--out", metavar="VAR", help="keep the result in VAR")
    @line_magic
    @no_var_expand  # ARGS is JSON, and {name} names a dict: IPython must not format either first
    def puter_call(self, line: str) -> None:
        """Call any driver: %puter_call INTERFACE METHOD [ARGS] [--driver D] [--out VAR].

        ARGS is a JSON object, or {name} of a dict variable. A JSON result shows in the JSON
        viewer; an image or audio reply as one; a failure as the usual warning.
        """
        from .lineform import split_options

        words, rest = split_options(self.puter_call, line)
        head = rest.split(None, 2)
        if len(head) < 2:
            raise UsageError("%puter_call needs INTERFACE METHOD, e.g. %puter_call puter-tts list_voices")
        interface, method = head[0], head[1]
        call_args, tail = self._call_args(head[2] if len(head) > 2 else "")
        args = parse_line(self.puter_call, " ".join([*map(_quote, words), tail]))
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a variable name, not {args.out!r}")
        self._begin("%puter_call", args)
        result = self._flow().call(interface, method, call_args, args.driver)
        self._keep(args.out, result)

    def _call_args(self, text: str) -> tuple[dict[str, Any], str]:
        """ARGS (JSON or {name}) from the start of *text*, and what follows it."""
        text = text.strip()
        named = _NAME_ARGS.match(text)
        if named and named.group(1) not in self._namespace:
            raise UsageError(
                f"%puter_call: no variable named {named.group(1)} (ARGS is JSON or {{name}} of a dict)"
            )
        if named:
            value = self._namespace[named.group(1)]
            if not isinstance(value, dict):
                raise UsageError(
                    f"%puter_call: {named.group(1)} is a {type(value).__name__}, not a dict of args"
                )
            return value, text[named.end() :]
        if not text.startswith("{"):
            return {}, text
        try:
            value, end = json.JSONDecoder().raw_decode(text)
        except ValueError as exc:
            raise UsageError(f"%puter_call: ARGS is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise UsageError("%puter_call: ARGS must be a JSON object")
        return value, text[end:]


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)
