"""The IPython magics: thin adapters over PuterSession, PuterClient and the renderers.

Failures by kind: bad arguments raise ``UsageError`` (one line); a Puter or network
failure shows one styled warning and changes nothing (``raise_errors`` makes it raise);
anything else is a bug and propagates. Heavy modules (requests, markdown, nh3,
ipywidgets) load on first use, so ``%load_ext puter_magic`` stays quick.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Int, Unicode, default, observe

from .bounds import MAX_DISPLAY_CHARS
from .errors import PuterError
from .words import plural

if TYPE_CHECKING:
    from .session import PuterSession

__all__ = ["PuterMagics", "load", "unload"]

SAFE_TOKEN_WAYS = (
    "a token on the magic's line would be saved in the notebook; use the PUTER_AUTH_TOKEN "
    "environment variable, --token-env NAME, --browser, or %puter_login alone for a masked prompt"
)


def _parse(magic: Any, line: str) -> Any:
    """Parse a magic's line like a shell would: quotes group words and are removed."""
    import shlex

    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"could not read the options: {exc}") from None
    return magic.parser.parse_args(argv)


def show(obj: Any, **kwargs: Any) -> Any:
    from IPython.display import display

    return display(obj, **kwargs)


@magics_class
class PuterMagics(Magics):
    """``%puter_login``, ``%%puter``, ``%puter_history``, ``%puter_reset``, ``%puter_models``."""

    default_model = Unicode(
        help="The model %%puter uses when -m is not given (env PUTER_MODEL). "
        "%puter_login --sandbox sets it to sandbox-tutor; the model selector sets it too."
    ).tag(config=True)
    origin = Unicode(help="The Puter API origin %puter_login uses (env PUTER_API_ORIGIN).").tag(config=True)
    connect_timeout = Float(10.0, help="Seconds to wait for a connection.").tag(config=True)
    read_timeout = Float(120.0, help="Seconds of silence from the server before giving up.").tag(config=True)
    total_timeout = Float(600.0, help="Seconds any reply may take in all.").tag(config=True)
    max_retries = Int(4, help="How often 429 and 503 replies are retried.").tag(config=True)
    history_window = Int(
        20,
        help="How many past exchanges of a thread each request sends (older ones are kept).",
    ).tag(config=True)
    stream = Bool(True, help="Stream replies as they arrive (--no-stream turns it off for one cell).").tag(
        config=True
    )
    raise_errors = Bool(
        False,
        help="Raise Puter failures instead of showing a warning (for notebooks run as pipelines).",
    ).tag(config=True)
    show_reasoning = Bool(True, help="Show a model's reasoning folded above its reply.").tag(config=True)
    show_footer = Bool(True, help="Show the model, tokens and time under each reply.").tag(config=True)
    max_updates_per_second = Float(20.0, help="The most display updates a second while streaming.").tag(
        config=True
    )
    sandbox_pace = Float(0.015, help="Seconds between streamed chunks of the in-kernel sandbox.").tag(
        config=True
    )
    allow_insecure_http = Bool(
        False, help="Allow http:// to a non-loopback origin (the token travels in clear)."
    ).tag(config=True)
    rich_output = Bool(
        None,
        allow_none=True,
        help="Show rich, live-updating outputs (None: yes in a Jupyter kernel, plain printed "
        "text in terminal IPython).",
    ).tag(config=True)
    compare_concurrency = Int(
        3, help="How many models --compare asks at once (a free Puter account allows 3)."
    ).tag(config=True)
    budget_usd_cents = Float(
        None,
        allow_none=True,
        help="Refuse further requests once the notebook has spent this many US cents (as replies "
        "report it); None: no budget.",
    ).tag(config=True)
    login_timeout = Float(180.0, help="Seconds %puter_login --browser waits for the sign-in.").tag(
        config=True
    )
    max_display_chars = Int(
        MAX_DISPLAY_CHARS,
        help="The most characters of a reply (or transcript) an output shows; the rest is kept "
        "(--out, %puter_history --json) and a note says how much was left out. 0: no bound.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._session: PuterSession | None = None
        self._cell_id: str | None = None
        self._cell_seq = 0

    @default("default_model")
    def _default_model(self) -> str:
        return os.environ.get("PUTER_MODEL", "")

    @default("origin")
    def _default_origin(self) -> str:
        from .origin import DEFAULT_ORIGIN

        return os.environ.get("PUTER_API_ORIGIN", "") or DEFAULT_ORIGIN

    @observe("default_model")
    def _model_changed(self, change: dict[str, Any]) -> None:
        if self._session is not None:
            self._session.default_model = change["new"] or None

    @observe("connect_timeout", "read_timeout")
    def _timeouts_changed(self, change: dict[str, Any]) -> None:
        if self._session is not None and self._session.client is not None:
            self._session.client.timeout = (self.connect_timeout, self.read_timeout)

    @property
    def session(self) -> PuterSession:
        if self._session is None:
            from .session import PuterSession

            self._session = PuterSession()
            self._session.default_model = self.default_model or None
        return self._session

    # -- cell identity ---------------------------------------------------------------

    def pre_run_cell(self, info: Any) -> None:
        """Remember which cell runs (Jupyter frontends send its id) for re-run detection."""
        self._cell_id = getattr(info, "cell_id", None) or None
        self._cell_seq = 0

    def _cell_key(self) -> str | None:
        if self._cell_id is None:
            return None
        self._cell_seq += 1
        return self._cell_id if self._cell_seq == 1 else f"{self._cell_id}#{self._cell_seq}"

    # -- failures --------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, handle: Any = None) -> Iterator[None]:
        """Show a PuterError as one warning (in *handle*'s output if it has one)."""
        try:
            yield
        except PuterError as err:
            if self.raise_errors:
                raise
            box = self._warning(err)
            if handle is not None and hasattr(handle, "display_id"):
                handle.update(box)
            else:
                show(box)

    def _warning(self, err: PuterError) -> Any:
        """The one warning for *err*; its hints name the server in use (self-hosted or not)."""
        from .rendering import WarningBox
        from .session import REPLAY_ORIGIN

        origin = self.session.origin
        return WarningBox.from_error(err, origin=None if origin == REPLAY_ORIGIN else origin)

    def _client_options(self) -> dict[str, Any]:
        return {
            "timeout": (self.connect_timeout, self.read_timeout),
            "total_timeout": self.total_timeout,
            "max_retries": self.max_retries,
            "allow_insecure_http": self.allow_insecure_http,
        }

    # -- %puter_login / %puter_logout ------------------------------------------------------

    @magic_arguments()
    @argument("--origin", help="API origin, e.g. https://api.puter.com or http://api.puter.localhost:4100")
    @argument("--token-env", metavar="NAME", help="read the token from this environment variable")
    @argument("--browser", action="store_true", help="sign in through Puter in your browser (AuthMe)")
    @argument("--sandbox", action="store_true", help="start the offline sandbox in this kernel and use it")
    @argument("--save", action="store_true", help="keep this login for next time (a private file)")
    @argument("--token", help="refused: a token here would be saved in the notebook")
    @argument("extra", nargs="*", help="refused (see --token)")
    @line_magic
    def puter_login(self, line: str) -> None:
        """Sign in to Puter and say who you are.

        The token comes from, first match wins: --token-env NAME, $PUTER_AUTH_TOKEN, a
        saved login for the origin, a masked prompt. --browser uses Puter's sign-in page
        instead; --sandbox needs no account at all.
        """
        from . import signin

        args = self._parse_login(line)
        with self._guard():
            if args.sandbox:
                sandbox = self.session.start_sandbox(pace=self.sandbox_pace)
                self.default_model = self.session.default_model or ""
                from .rendering import Note

                show(
                    Note(
                        f"Signed in to the sandbox at {sandbox.origin} as {self.session.username}.",
                        f"It runs offline in this kernel; no account needed. Default model: "
                        f"{self.default_model}.",
                    )
                )
                return
            signin.login(self, args)

    def _parse_login(self, line: str) -> Any:
        if "--token" in line.split() or any(w.startswith("--token=") for w in line.split()):
            raise UsageError(f"%puter_login does not take --token: {SAFE_TOKEN_WAYS}")
        try:
            args = _parse(self.puter_login, line)
        except UsageError:
            raise UsageError(f"%puter_login: unknown option (see %puter_login?); {SAFE_TOKEN_WAYS}") from None
        if args.extra or args.token:
            raise UsageError(f"%puter_login takes no positional arguments: {SAFE_TOKEN_WAYS}")
        if args.sandbox and (args.origin or args.browser or args.token_env or args.save):
            raise UsageError("%puter_login --sandbox takes no other options")
        return args

    @magic_arguments()
    @argument("--keep", action="store_true", help="sign out of this kernel but keep the saved login")
    @line_magic
    def puter_logout(self, line: str) -> None:
        """Sign out, forget the saved login for this origin, and stop an in-kernel sandbox."""
        args = _parse(self.puter_logout, line)
        from .auth import LoginStore
        from .rendering import Note

        origin = self.session.origin
        forgot = False if args.keep or origin is None else LoginStore().forget(origin)
        was_sandbox = self.session.sandbox is not None
        self.session.close()
        what = f"Signed out of {origin}" if origin else "Not signed in"
        detail = "saved login forgotten." if forgot else ("sandbox stopped." if was_sandbox else "")
        show(Note(what, detail))

    # -- %%puter -----------------------------------------------------------------------

    @magic_arguments()
    @argument(
        "-m",
        "--model",
        help="the model for this cell (default: the notebook's, see %%puter_models)",
    )
    @argument(
        "-s",
        "--system",
        help="a system prompt; it stays with the thread until changed ('' clears it)",
    )
    @argument("-t", "--temperature", type=float, help="sampling temperature")
    @argument("--max-tokens", type=int, help="the most tokens the reply may have")
    @argument("--chat", metavar="NAME", help="the conversation thread (default: 'default')")
    @argument("--new", action="store_true", help="start the thread afresh with this cell")
    @argument("--no-history", action="store_true", help="one-shot: send no history and record nothing")
    @argument("--out", metavar="VAR", help="also store the reply text in this variable")
    @argument("--raw", action="store_true", help="show the reply as plain text, not Markdown")
    @argument("--no-interpolate", action="store_true", help="send {name} as written")
    @argument("--no-stream", action="store_true", help="wait for the whole reply instead of streaming")
    @argument(
        "--compare",
        metavar="MODELS",
        help="ask several models (comma-separated) at once and show the replies side by side",
    )
    @argument("--keep", metavar="MODEL", help="with --compare: record this model's reply in the conversation")
    @argument(
        "--context",
        metavar="NAMES",
        help="add a short description of these variables (comma-separated) to the message",
    )
    @line_cell_magic
    def puter(self, line: str, cell: str | None = None) -> None:
        """Ask Puter: the cell is your message; the reply streams in as Markdown.

        The conversation is remembered per thread, so the next %%puter cell continues it;
        running a cell again replaces its earlier exchange. {name} in the cell is replaced
        by that variable's value (also {In[3]} and {Out[3]}); code, math and f-strings are
        left alone. The line form, %puter QUESTION, asks one line in the default thread.
        """
        from . import asking

        if cell is None:
            args = _parse(self.puter, "")
            prompt = line
        else:
            args = _parse(self.puter, line)
            prompt = cell
        if not prompt.strip():
            raise UsageError("%%puter needs a message: write your question in the cell below %%puter")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a variable name, not {args.out!r}")
        used: list[str] = []
        if not args.no_interpolate:
            from .interpolate import interpolate

            prompt, used = interpolate(prompt, self.shell.user_ns if self.shell else {})
        if args.context:
            prompt = asking.with_context(self, prompt, args.context)
        options = {
            k: v
            for k, v in (("temperature", args.temperature), ("max_tokens", args.max_tokens))
            if v is not None
        }
        ask = self.session.prepare(
            prompt.strip("\n"),
            model=args.model,
            thread=args.chat,
            system=args.system,
            window=self.history_window,
            history=not args.no_history,
            new=args.new,
            cell_id=self._cell_key(),
            options=options,
        )
        notes = [f"filled in: {', '.join('{' + u + '}' for u in used)}"] if used else []
        if args.compare:
            asking.compare_in_cell(self, ask, args.compare, args.keep, notes)
            return
        if args.keep:
            raise UsageError("--keep goes with --compare")
        stream = self.stream and not args.no_stream
        text = asking.ask_in_cell(self, ask, stream=stream, raw=args.raw, notes=notes, out=args.out)
        if text is not None and args.out and self.shell is not None:
            self.shell.user_ns[args.out] = text

    # -- models ------------------------------------------------------------------------

    @magic_arguments()
    @argument("--refresh", action="store_true", help="reload the list from the server")
    @line_magic
    def puter_models(self, line: str) -> None:
        """Pick the notebook's default model (a searchable selector; a table in a terminal)."""
        from . import asking

        args = _parse(self.puter_models, line)
        with self._guard():
            models = self.session.models(refresh=args.refresh)
            if asking.rich(self):
                show(self.model_selector())
            else:
                from .widgets import ModelTable

                show(ModelTable(models, self.default_model))

    def model_selector(self) -> Any:
        """A :class:`~puter_magic.widgets.ModelSelector` bound to ``default_model``."""
        from .widgets import ModelSelector

        def set_model(model_id: str) -> None:
            self.default_model = model_id

        selector = ModelSelector(
            lambda refresh: self.session.models(refresh=refresh),
            lambda: self.default_model,
            set_model,
        )
        self.observe(lambda change: selector.show_current(changed=True), names="default_model")
        return selector

    # -- record and replay -----------------------------------------------------------------

    @magic_arguments()
    @argument("file", nargs="?", help="the JSON Lines file to record to (appended)")
    @argument("--off", action="store_true", help="stop recording")
    @line_magic
    def puter_record(self, line: str) -> None:
        """Record every Puter request of this notebook and its reply to FILE (no token is written)."""
        args = _parse(self.puter_record, line)
        from .rendering import Note

        if args.off:
            tape = self.session.stop_tape()
            what = (
                f"{plural(tape.recorded, 'exchange')} in {tape.path}"
                if tape and tape.mode == "record"
                else "nothing"
            )
            show(Note("Recording stopped:", f"{what}."))
            return
        if not args.file:
            raise UsageError("%puter_record needs a FILE (or --off)")
        try:
            tape = self.session.record_to(args.file)
        except OSError as exc:
            raise UsageError(f"%puter_record: {exc}") from None
        show(
            Note(
                f"Recording to {tape.path}.",
                "Replay it later, with no network, with",
                code=f"%puter_replay {args.file}",
            )
        )

    @magic_arguments()
    @argument("file", nargs="?", help="a recording made with %%puter_record")
    @argument(
        "--fallthrough", action="store_true", help="send requests the file does not hold to the network"
    )
    @argument(
        "--fast", action="store_true", help="replay streamed replies at once, not at their recorded pace"
    )
    @argument("--off", action="store_true", help="stop replaying")
    @line_magic
    def puter_replay(self, line: str) -> None:
        """Answer Puter requests from a recording, with no network at all."""
        args = _parse(self.puter_replay, line)
        from .rendering import Note

        if args.off:
            tape = self.session.stop_tape()
            what = (
                f"{plural(tape.replayed, 'reply')} came from {tape.path}"
                if tape and tape.mode == "replay"
                else ""
            )
            show(Note("Replay stopped.", what))
            return
        if not args.file:
            raise UsageError("%puter_replay needs a FILE (or --off)")
        try:
            tape = self.session.replay_from(
                args.file, fallthrough=args.fallthrough, pace="fast" if args.fast else "original"
            )
        except ValueError as exc:
            raise UsageError(f"%puter_replay: {exc}") from None
        rest = "others go to the network" if args.fallthrough else "nothing else is sent anywhere"
        main = tape.main_model()
        if main and not self.default_model:
            self.default_model = main
            rest += f". Default model: {main}"
        count = plural(len(tape.entries), "recorded exchange")
        show(Note(f"Replaying {count} from {tape.path};", f"{rest}."))

    # -- explain, usage ----------------------------------------------------------------------

    @magic_arguments()
    @argument("-m", "--model", help="the model to ask (default: the notebook's)")
    @argument("--chat", metavar="NAME", help="the conversation thread (default: 'default')")
    @line_magic
    def puter_explain(self, line: str) -> None:
        """Ask for the notebook's most recent error to be explained for a learner, with a fix.

        Sends the error's type and message, the trimmed traceback and the code of the cell
        that raised it, and nothing else.
        """
        from . import asking

        args = _parse(self.puter_explain, line)
        import sys

        exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        if exc is None:
            from .rendering import Note

            show(Note("No error to explain yet.", "Run the cell that fails, then %puter_explain."))
            return
        from .context import describe_error_for_learner

        trace, cell = describe_error_for_learner(exc)
        prompt = (
            "I am learning to program. This error happened in my notebook. Explain for a learner "
            "what it means and why it happened, then suggest a fix.\n\n"
        )
        if cell:
            prompt += f"The cell that raised it:\n\n```python\n{cell.rstrip()}\n```\n\n"
        prompt += f"The error:\n\n```text\n{trace.rstrip()}\n```"
        ask = self.session.prepare(
            prompt, model=args.model, thread=args.chat, window=self.history_window, cell_id=self._cell_key()
        )
        asking.ask_in_cell(
            self, ask, stream=self.stream, raw=False, notes=[f"explained: {type(exc).__name__}"]
        )

    @magic_arguments()
    @argument("--reset", action="store_true", help="start counting afresh")
    @line_magic
    def puter_usage(self, line: str) -> None:
        """Tokens and cost per model used by this notebook (cost where the server reports it)."""
        args = _parse(self.puter_usage, line)
        meter = self.session.meter
        if args.reset:
            from .rendering import Note

            meter.reset()
            show(Note("Usage meter reset."))
            return
        show(meter)
        if self.budget_usd_cents is not None:
            from .rendering import Note

            left = self.budget_usd_cents - meter.spent_cents
            show(Note(f"Budget: {self.budget_usd_cents:g}¢", f"{max(left, 0):.4g}¢ left."))

    # -- history and reset ------------------------------------------------------------------

    @magic_arguments()
    @argument("--chat", metavar="NAME", help="the thread (default: 'default')")
    @argument("--json", action="store_true", help="return the thread as JSON-ready data")
    @argument("--save", metavar="FILE", help="write the thread to a JSON file")
    @argument("--load", metavar="FILE", help="replace the thread with one from a JSON file")
    @argument("--replaced", action="store_true", help="show the replies that re-runs replaced")
    @line_magic
    def puter_history(self, line: str) -> Any:
        """Show a thread's transcript, or move it to and from a JSON file."""
        args = _parse(self.puter_history, line)
        from .conversation import Thread
        from .rendering import Note, ReplyView

        thread = self.session.conversations.get(args.chat)
        if args.load:
            try:
                loaded = Thread.load(args.load, thread.name)
            except (OSError, ValueError) as exc:
                raise UsageError(f"%puter_history --load: {exc}") from None
            self.session.conversations.put(loaded)
            show(
                Note(
                    f"Loaded {plural(len(loaded.exchanges), 'exchange')} into thread {loaded.name!r}",
                    f"from {args.load}.",
                )
            )
            return None
        if args.save:
            try:
                path = thread.save(args.save)
            except OSError as exc:
                raise UsageError(f"%puter_history --save: {exc}") from None
            show(
                Note(
                    f"Saved thread {thread.name!r} ({plural(len(thread.exchanges), 'exchange')})",
                    f"to {path}.",
                )
            )
            return None
        if args.json:
            from .bounds import BoundedData

            data = BoundedData(thread.to_json())  # all of it; only its display is bounded
            data.limit = self.max_display_chars
            data.where = "the value itself is whole (data = %puter_history --json)"
            return data
        if args.replaced:
            replaced = Thread(thread.name, list(thread.replaced))
            text = replaced.transcript().replace("**Thread", "**Replaced replies of thread", 1)
        else:
            text = thread.transcript()
        where = "the whole thread is in %puter_history --json (or --save FILE)"
        show(ReplyView(text, show_footer=False, limit=self.max_display_chars, where=where))
        return None

    @magic_arguments()
    @argument("--chat", metavar="NAME", help="the thread to reset (default: 'default')")
    @argument("--all", action="store_true", help="reset every thread")
    @line_magic
    def puter_reset(self, line: str) -> None:
        """Forget a thread's conversation (or all threads with --all)."""
        args = _parse(self.puter_reset, line)
        if args.all and args.chat:
            raise UsageError("%puter_reset takes --chat NAME or --all, not both")
        from .rendering import Note

        conversations = self.session.conversations
        if args.all:
            count = len(conversations.threads)
            conversations.reset_all()
            show(Note("Reset every thread", f"({plural(count, 'thread')} forgotten)."))
            return
        thread = conversations.get(args.chat)
        count = len(thread.exchanges)
        conversations.reset(thread.name)
        show(Note(f"Reset thread {thread.name!r}", f"({plural(count, 'exchange')} forgotten)."))


def load(ipython: Any) -> None:
    """Register the magics once; loading again is harmless."""
    if "PuterMagics" in ipython.magics_manager.registry:
        return
    magics = PuterMagics(ipython)
    ipython.register_magics(magics)
    ipython.events.register("pre_run_cell", magics.pre_run_cell)


def unload(ipython: Any) -> None:
    """Remove the magics and the event hook; stop an in-kernel sandbox."""
    magics = ipython.magics_manager.registry.pop("PuterMagics", None)
    if magics is None:
        return
    with contextlib.suppress(ValueError):
        ipython.events.unregister("pre_run_cell", magics.pre_run_cell)
    for kind, table in magics.magics.items():
        for name in table:
            ipython.magics_manager.magics[kind].pop(name, None)
    if magics._session is not None:
        magics._session.close()
