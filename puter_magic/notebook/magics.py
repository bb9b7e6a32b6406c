"""The %%puter magics: thin adapters that parse a line, call a flow, show the result.

:class:`PuterMagics` owns the notebook's state (session, settings as traits, the one
place that decides warn-or-raise, the classroom) and the asking magics (``%%puter``,
``%puter``, ``%puter_explain``, ``%puter_models``, ``%puter_policy``); :mod:`.account`,
:mod:`.history` and :mod:`.media` hold the others and get the state through
:class:`~.state.Host`. A magic reads its line once (:mod:`.options`) and hands typed values
to a flow (:mod:`.asking` is the cell pipeline).

Failures by kind: bad arguments raise ``UsageError`` (one line); a Puter or network
failure shows one styled warning and changes nothing (``raise_errors`` makes it raise);
anything else is a bug and propagates. Heavy modules (requests, markdown, nh3,
ipywidgets) load on first use, so ``%load_ext puter_magic`` stays quick.
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

from .options import given, parse_line, puter_options, read_ask
from .state import SettingsTraits, show

if TYPE_CHECKING:
    from ..api.pacing import AccountLimits
    from .asking import AskFlow
    from .classroom import Classroom
    from .each import BatchMemory
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
            from .classroom.policy import PolicyWatch

            def provider(model: str) -> str | None:
                return self._session.provider_of(model) if self._session is not None else None

            self._classroom = Classroom(
                PolicyWatch(self._notebook_path), show=show, log_file=lambda: self.log_file, provider=provider
            )
        return self._classroom

    def _notebook_path(self) -> Path | None:
        """The notebook this kernel runs (the frontend says; ``notebook_file`` where it does not)."""
        from .classroom.policy import find_notebook

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
        from ..api.pacing import limits_for

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
        options, prompt = read_ask(self.puter, line, cell)
        self.classroom.begin("%%puter" if cell is not None else "%puter", options.given)
        if options.code:
            refusal = self.classroom.refuse_code(prompt.strip())
            if refusal is not None:
                show(refusal)
                return
        if options.batch:
            from .each import BatchFlow, BatchMemory

            if self._batch_memory is None:
                self._batch_memory = BatchMemory()
            batch = BatchFlow(self.session, self.settings(), show, self.failures, self._batch_memory)
            batch.each_cell(options, prompt, namespace=self._namespace(), cell=self.cell_key())
            return
        tools = None
        if options.tools:
            from .tools import tools_for

            tools = tools_for(options.tools, options.approve, self._namespace(), self.shell)
        used: list[str] = []
        unknown: list[str] = []
        if options.interpolate:
            from .prompt import interpolate

            prompt, used = interpolate(prompt, self._namespace(), unknown)
        if options.context:
            from .prompt import with_context

            prompt = with_context(prompt, options.context, self._namespace())
        sent = options.model_options()
        seen = ""
        if options.images:
            from .media import chat_images

            sent["images"], seen = chat_images(list(options.images), self._namespace())
        ask = self.session.prepare(
            prompt.strip("\n"),
            model=options.model,
            thread=options.chat,
            system=options.system,
            window=self.history_window,
            history=options.history,
            new=options.new,
            cell_id=self.cell_key(),
            options=sent,
            tools=tools is not None,
        )
        notes = [f"filled in: {', '.join('{' + u + '}' for u in used)}"] if used else []
        if unknown:
            names = ", ".join("{" + u + "}" for u in unknown)
            notes.append(f"sent as written: {names} (no variable of that name)")
        notes += [seen] if seen else []
        stream = self.stream and options.stream
        flow = self._ask_flow()
        if options.compare:
            flow.compare(ask, list(options.compare), options.keep, notes, stream=stream)
            return
        text = flow.ask(
            ask,
            stream=stream,
            raw=options.raw,
            notes=notes,
            out=options.out,
            tools=tools,
            approve=options.approve,
        )
        if text is not None and options.out and self.shell is not None:
            self.shell.user_ns[options.out] = text
        if options.code and text is not None:
            from .asking import offer_code

            show(offer_code(self.shell, text))

    # -- models ------------------------------------------------------------------------

    @magic_arguments()
    @argument("--refresh", action="store_true", help="reload the list from the server")
    @line_magic
    def puter_models(self, line: str) -> None:
        """Pick the notebook's default model (a searchable selector; a table in a terminal)."""
        args = parse_line(self.puter_models, line)
        from .live import cell_output

        with self.failures.guard():
            models = self.session.models(refresh=args.refresh)
            if cell_output(self.settings(), show).live:
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

        self.classroom.begin("%puter_explain", given(args))

        exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        if exc is None:
            from .views import Note

            show(Note("No error to explain yet.", "Run the cell that fails, then %puter_explain."))
            return
        from .prompt import explain_prompt

        prompt = explain_prompt(exc, self._cell_label, hint_only=self.classroom.mode() == "tutor")
        ask = self.session.prepare(
            prompt, model=args.model, thread=args.chat, window=self.history_window, cell_id=self.cell_key()
        )
        self._ask_flow().ask(ask, stream=self.stream, raw=False, notes=[f"explained: {type(exc).__name__}"])

    @line_magic
    def puter_policy(self, line: str) -> None:
        """Show the classroom rules in force, each with where it came from (the notebook's
        metadata or the site file named by $PUTER_MAGIC_POLICY), and the requests left."""
        from .classroom import HOW_TO_SET, policy_view

        if line.strip():
            raise UsageError(f"%puter_policy takes no arguments; teachers set the rules with {HOW_TO_SET}")
        show(policy_view(self.classroom))

    def _cell_label(self, filename: str) -> str | None:
        """``Cell In[5]`` for a cell's file, as IPython names it in its own tracebacks."""
        format_name = getattr(getattr(self.shell, "compile", None), "format_code_name", None)
        named = format_name(filename) if format_name is not None else None
        return " ".join(named) if isinstance(named, tuple) else None


MAGICS_CLASSES = ("PuterMagics", "AccountMagics", "HistoryMagics", "MediaMagics")


def load(ipython: Any) -> None:
    """Register the magics and the input transformer once; loading again is harmless."""
    if "PuterMagics" in ipython.magics_manager.registry:
        return
    from .account import AccountMagics
    from .classroom import announce
    from .history import HistoryMagics
    from .media import MediaMagics
    from .options import ask_not_help

    magics = PuterMagics(ipython)
    ipython.register_magics(magics)
    ipython.register_magics(AccountMagics(ipython, host=magics))
    ipython.register_magics(HistoryMagics(ipython, host=magics))
    ipython.register_magics(MediaMagics(ipython, host=magics))
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
    from .options import ask_not_help

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
