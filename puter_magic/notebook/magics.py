"""The %%puter magics: thin adapters that parse a line, call a flow, show the result.

:class:`PuterMagics` owns the notebook's state (session, settings as traits, the one
place that decides warn-or-raise) and the asking magics; :mod:`.account_magics` and
:mod:`.history_magics` hold the others and get the state through :class:`~.host.Host`.

Failures by kind: bad arguments raise ``UsageError`` (one line); a Puter or network
failure shows one styled warning and changes nothing (``raise_errors`` makes it raise);
anything else is a bug and propagates. Heavy modules (requests, markdown, nh3,
ipywidgets) load on first use, so ``%load_ext puter_magic`` stays quick.

About 330 lines, most of them the magic methods' docstrings and declarations, which are
their ``%magic?`` help.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import observe

from .arguments import parse_line
from .display import show
from .puter_options import model_options, puter_options
from .settings import SettingsTraits

if TYPE_CHECKING:
    from ..api.account import AccountLimits
    from .asking import AskFlow
    from .batching import BatchMemory
    from .classroom import Classroom
    from .failures import Failures
    from .session import PuterSession
    from .widgets import ModelSelector

__all__ = ["PuterMagics", "load", "unload"]


@magics_class
class PuterMagics(Magics, SettingsTraits):
    """``%%puter``, ``%puter_explain`` and ``%puter_models``; the notebook's settings and state."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._session: PuterSession | None = None
        self._failures: Failures | None = None
        self._selector: ModelSelector | None = None
        self._cell_id: str | None = None
        self._cell_seq = 0
        self._batch_memory: BatchMemory | None = None
        self._classroom: Classroom | None = None

    @observe("default_model")
    def _model_changed(self, change: dict[str, Any]) -> None:
        if self._session is not None:
            self._session.default_model = change["new"] or None
        if self._selector is not None:
            self._selector.show_current(changed=True)

    @observe("connect_timeout", "read_timeout")
    def _timeouts_changed(self, change: dict[str, Any]) -> None:
        if self._session is not None and self._session.client is not None:
            self._session.client.timeout = (self.connect_timeout, self.read_timeout)

    # -- the state the flows get -------------------------------------------------------

    @property
    def session(self) -> PuterSession:
        if self._session is None:
            from .session import PuterSession

            self._session = PuterSession()
            self._session.default_model = self.default_model or None
            self._session.classroom = self.classroom
        return self._session

    @property
    def classroom(self) -> Classroom:
        """The teacher's rules for this notebook, and this kernel session's count of requests."""
        if self._classroom is None:
            from .classroom import Classroom
            from .policy import PolicyWatch

            def provider(model: str) -> str | None:
                return self._session.provider_of(model) if self._session is not None else None

            self._classroom = Classroom(
                PolicyWatch(self._notebook_path), show=show, log_file=lambda: self.log_file, provider=provider
            )
        return self._classroom

    def _notebook_path(self) -> Path | None:
        """The notebook this kernel runs (the frontend says; ``notebook_file`` where it does not)."""
        from .policy import find_notebook

        if self.notebook_file:
            return Path(self.notebook_file).expanduser().absolute()
        return find_notebook(self._namespace(), os.environ)

    @property
    def failures(self) -> Failures:
        """The one place that decides whether a Puter failure is shown or raised."""
        if self._failures is None:
            from .failures import Failures

            self._failures = Failures(
                lambda: self.raise_errors,
                show,
                self._server_origin,
                self._allowance_left,
                self._usage_limited,
                self._limits,
            )
        return self._failures

    def _limits(self) -> AccountLimits | None:
        """The signed-in account's limits (a guest's or a free account's), for a 429's hint."""
        from ..api.account import limits_for

        return (
            limits_for(self._session.account) if self._session is not None and self._session.client else None
        )

    def _allowance_left(self) -> Any:
        """What the account has left, for an out-of-allowance warning (read afresh)."""
        return self._session.allowance(max_age=0.0) if self._session is not None else None

    def _usage_limited(self) -> bool:
        client = self._session.client if self._session is not None else None
        return client.usage_limited() if client is not None else False

    def post_run_cell(self, result: Any) -> None:
        """After each cell: a reply that said the allowance is used up gets its one warning."""
        if self._failures is not None:
            self._failures.after_cell()

    def _server_origin(self) -> str | None:
        """The origin signed in to (None for a replay-only session, which has none)."""
        from .session import REPLAY_ORIGIN

        origin = self._session.origin if self._session is not None else None
        return None if origin == REPLAY_ORIGIN else origin

    def in_kernel(self) -> bool:
        return getattr(self.shell, "kernel", None) is not None

    def _ask_flow(self) -> AskFlow:
        from .asking import AskFlow

        return AskFlow(self.session, self.settings(), show, self.failures)

    # -- cell identity ---------------------------------------------------------------

    def pre_run_cell(self, info: Any) -> None:
        """Remember which cell runs (Jupyter frontends send its id) for re-run detection."""
        self._cell_id = getattr(info, "cell_id", None) or None
        self._cell_seq = 0
        self.classroom.new_cell(self._cell_id)

    def _namespace(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    def cell_key(self) -> str | None:
        """This cell's id (with a counter for a second question in the same cell)."""
        if self._cell_id is None:
            return None
        self._cell_seq += 1
        return self._cell_id if self._cell_seq == 1 else f"{self._cell_id}#{self._cell_seq}"

    # -- %%puter -----------------------------------------------------------------------

    @magic_arguments()
    @puter_options
    @line_cell_magic
    def puter(self, line: str, cell: str | None = None) -> None:
        """Ask Puter: the cell is your message; the reply streams in as Markdown.

        The conversation is remembered per thread, so the next %%puter cell continues it;
        running a cell again replaces its earlier exchange. {name} in the cell is replaced
        by that variable's value (also {In[3]} and {Out[3]}); code, math and f-strings are
        left alone.

        The line form, %puter [options] QUESTION, asks one line: the same options go before
        the question (%puter -m MODEL --chat NAME What is a set?), -- ends them, and a
        question that ends in ? is asked (%puter? alone shows this help).
        """
        from .asking import with_context
        from .provenance import options_of

        if cell is None:
            from .lineform import split_options

            words, prompt = split_options(self.puter, line)
            args = self.puter.parser.parse_args(words)
            if not prompt:
                raise UsageError("%puter needs a question after its options: %puter [options] QUESTION")
        else:
            args = parse_line(self.puter, line)
            prompt = cell
        if not prompt.strip():
            raise UsageError("%%puter needs a message: write your question in the cell below %%puter")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a variable name, not {args.out!r}")
        if args.code and (args.compare or args.each is not None):
            raise UsageError(
                "--code puts one reply's code in a cell: it does not go with --compare or --each"
            )
        self.classroom.begin("%%puter" if cell is not None else "%puter", options_of(args))
        if args.code:
            refusal = self.classroom.refuse_code(prompt.strip())
            if refusal is not None:
                show(refusal)
                return
        if args.each is not None or args.fresh:
            from .batching import BatchFlow, BatchMemory, each_cell

            if self._batch_memory is None:
                self._batch_memory = BatchMemory()
            batch = BatchFlow(self.session, self.settings(), show, self.failures, self._batch_memory)
            each_cell(
                batch,
                args,
                prompt,
                in_cell=cell is not None,
                namespace=self._namespace(),
                cell=self.cell_key(),
            )
            return
        if args.web and (args.tools or args.approve):
            raise UsageError("--web goes without --tools: Puter's web search is a tool of its own")
        tools = None
        if args.tools or args.approve:
            from .tooling import tools_for

            tools = tools_for(args, self._namespace(), self.shell)
        used: list[str] = []
        unknown: list[str] = []
        if not args.no_interpolate:
            from .interpolate import interpolate

            prompt, used = interpolate(prompt, self._namespace(), unknown)
        if args.context:
            prompt = with_context(prompt, args.context, self._namespace())
        options = model_options(args)
        seen = ""
        if args.image:
            from .media_flow import chat_images

            options["images"], seen = chat_images(args.image, self._namespace())
        ask = self.session.prepare(
            prompt.strip("\n"),
            model=args.model,
            thread=args.chat,
            system=args.system,
            window=self.history_window,
            history=not args.no_history,
            new=args.new,
            cell_id=self.cell_key(),
            options=options,
            tools=tools is not None,
        )
        notes = [f"filled in: {', '.join('{' + u + '}' for u in used)}"] if used else []
        if unknown:
            names = ", ".join("{" + u + "}" for u in unknown)
            notes.append(f"sent as written: {names} (no variable of that name)")
        notes += [seen] if seen else []
        stream = self.stream and not args.no_stream
        if args.compare:
            self._ask_flow().compare(ask, args.compare, args.keep, notes, stream=stream)
            return
        if args.keep:
            raise UsageError("--keep goes with --compare")
        if tools:
            from .tooling import ToolFlow

            flow = ToolFlow(self.session, self.settings(), show, self.failures)
            text = flow.ask(
                ask, tools, stream=stream, raw=args.raw, notes=notes, approve=args.approve, out=args.out
            )
        else:
            text = self._ask_flow().ask(ask, stream=stream, raw=args.raw, notes=notes, out=args.out)
        if text is not None and args.out and self.shell is not None:
            self.shell.user_ns[args.out] = text
        if args.code and text is not None:
            from .code_cell import offer_code

            show(offer_code(self.shell, text))

    # -- models ------------------------------------------------------------------------

    @magic_arguments()
    @argument("--refresh", action="store_true", help="reload the list from the server")
    @line_magic
    def puter_models(self, line: str) -> None:
        """Pick the notebook's default model (a searchable selector; a table in a terminal)."""
        args = parse_line(self.puter_models, line)
        with self.failures.guard():
            models = self.session.models(refresh=args.refresh)
            if self.settings().rich:
                selector = self.model_selector()
                selector.refresh(force=False)  # the session's list: this origin's, maybe just reloaded
                show(selector)
            else:
                from .widgets import ModelTable

                show(ModelTable(models, self.default_model))

    def model_selector(self) -> ModelSelector:
        """The notebook's :class:`~puter_magic.notebook.widgets.ModelSelector`, bound to
        ``default_model``. There is one per notebook: showing it again shows the same
        widget, so every view of it agrees and nothing piles up on the trait."""
        if self._selector is None:
            from .widgets import ModelSelector

            def set_model(model_id: str) -> None:
                self.default_model = model_id

            self._selector = ModelSelector(
                lambda refresh: self.session.models(refresh=refresh),
                lambda: self.default_model,
                set_model,
            )
        return self._selector

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
        args = parse_line(self.puter_explain, line)
        import sys

        from .provenance import options_of

        self.classroom.begin("%puter_explain", options_of(args))

        exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        if exc is None:
            from .rendering import Note

            show(Note("No error to explain yet.", "Run the cell that fails, then %puter_explain."))
            return
        from .context import describe_error_for_learner

        trace, cell = describe_error_for_learner(exc, cell_label=self._cell_label)
        fix = "give me a hint toward fixing it" if self.classroom.mode() == "tutor" else "suggest a fix"
        prompt = (
            "I am learning to program. This error happened in my notebook. Explain for a learner "
            f"what it means and why it happened, then {fix}.\n\n"
        )
        if cell:
            prompt += f"The cell that raised it:\n\n```python\n{cell.rstrip()}\n```\n\n"
        prompt += f"The error:\n\n```text\n{trace.rstrip()}\n```"
        ask = self.session.prepare(
            prompt, model=args.model, thread=args.chat, window=self.history_window, cell_id=self.cell_key()
        )
        self._ask_flow().ask(ask, stream=self.stream, raw=False, notes=[f"explained: {type(exc).__name__}"])

    def _cell_label(self, filename: str) -> str | None:
        """``Cell In[5]`` for a cell's file, as IPython names it in its own tracebacks."""
        format_name = getattr(getattr(self.shell, "compile", None), "format_code_name", None)
        named = format_name(filename) if format_name is not None else None
        return " ".join(named) if isinstance(named, tuple) else None


MAGICS_CLASSES = ("PuterMagics", "AccountMagics", "HistoryMagics", "MediaMagics", "ClassroomMagics")


def load(ipython: Any) -> None:
    """Register the magics and the input transformer once; loading again is harmless."""
    if "PuterMagics" in ipython.magics_manager.registry:
        return
    from .account_magics import AccountMagics
    from .classroom import ClassroomMagics, announce
    from .history_magics import HistoryMagics
    from .lineform import ask_not_help
    from .media_magics import MediaMagics

    magics = PuterMagics(ipython)
    ipython.register_magics(magics)
    ipython.register_magics(AccountMagics(ipython, host=magics))
    ipython.register_magics(HistoryMagics(ipython, host=magics))
    ipython.register_magics(MediaMagics(ipython, host=magics))
    ipython.register_magics(ClassroomMagics(ipython, host=magics))
    ipython.events.register("pre_run_cell", magics.pre_run_cell)
    ipython.events.register("post_run_cell", magics.post_run_cell)
    if ask_not_help not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(ask_not_help)
    announce(magics.classroom)  # the rules are read now; a note names them when there are any


def unload(ipython: Any) -> None:
    """Remove the magics, the event hook and the input transformer; stop an in-kernel sandbox."""
    registry = ipython.magics_manager.registry
    magics = registry.get("PuterMagics")
    if magics is None:
        return
    with contextlib.suppress(ValueError):
        ipython.events.unregister("pre_run_cell", magics.pre_run_cell)
    with contextlib.suppress(ValueError):
        ipython.events.unregister("post_run_cell", magics.post_run_cell)
    from .lineform import ask_not_help

    with contextlib.suppress(ValueError):
        ipython.input_transformers_cleanup.remove(ask_not_help)
    for name in MAGICS_CLASSES:
        instance = registry.pop(name, None)
        if instance is None:
            continue
        for kind, table in instance.magics.items():
            for magic_name in table:
                ipython.magics_manager.magics[kind].pop(magic_name, None)
    if magics._session is not None:
        magics._session.close()
