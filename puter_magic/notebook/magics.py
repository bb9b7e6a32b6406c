"""The magics: every magic's declaration (its options, its ``%magic?`` help) and a thin adapter
that reads the line, calls a flow, keeps the result.

:class:`PuterMagics` owns the notebook's state (session, settings as traits, the one place
that decides warn-or-raise, the classroom) and the asking magics (``%%puter``, ``%puter``,
``%puter_explain``, ``%puter_models``, ``%puter_policy``); :class:`AccountMagics`,
:class:`HistoryMagics` and :class:`MediaMagics` get that state through :class:`~.state.Host`.
A magic reads its line once (:mod:`.options`) and hands typed values to a plain flow object:
:mod:`.asking` (the cell pipeline), :mod:`.each`, :mod:`.account`, :mod:`.media`.

``%load_ext puter_magic`` loads this module, the settings (:mod:`.state`) and the classroom's
rules (:mod:`.classroom.policy`: read at load, as issue 19 asks), and nothing else: the
classroom's gate (:mod:`.classroom.gate`) loads with the first magic that asks. So the
declarations live here: each magic's ``@argument`` lines (``%%puter``'s in :data:`ARGUMENTS`),
under :func:`magic_options`, which builds a parser only on first use, and the input
transformer :func:`ask_not_help`. The reading of a line (:mod:`.options`), each flow, the
views, the client, and requests, markdown, nh3 and ipywidgets load when a magic first needs them.

Failures by kind: bad arguments raise ``UsageError`` (one line); a Puter or network failure
shows one styled warning and changes nothing (``raise_errors`` makes it raise); anything else
is a bug and propagates.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument
from traitlets import observe

from ..api.humanize import plural
from .classroom.policy import PolicyWatch, find_notebook, summary_line
from .state import SettingsTraits, show

if TYPE_CHECKING:
    from ..api.account import AccountLimits
    from .asking import AskFlow
    from .classroom.gate import Classroom
    from .each import BatchMemory
    from .failures import Failures
    from .media import MediaFlow
    from .session import PuterSession
    from .state import Host
    from .widgets import ModelSelector

__all__ = [
    "ARGUMENTS",
    "EFFORTS",
    "FREE_TEXT_MAGICS",
    "VERBOSITIES",
    "AccountMagics",
    "HistoryMagics",
    "MediaMagics",
    "PuterMagics",
    "Refused",
    "ask_not_help",
    "load",
    "magic_options",
    "puter_options",
    "unload",
]


# -- declaring a magic's options -------------------------------------------------------------------


def magic_options(func: Any) -> Any:  # untyped, as IPython's @magic_arguments() is
    """In place of IPython's ``@magic_arguments()``, above a magic's ``@argument`` lines: the
    same declarations, but the parser is built on first use (:func:`.options.parser_of`), not when the
    class is defined. ``%magic?`` (IPython's inspector calls ``getdoc``) builds it too and
    shows the full help, options included, as ``@magic_arguments()`` would. What reads
    ``__doc__`` directly (the ``%magic`` listing, ``help()``) shows the short docstring until
    the magic is first used or asked about with ``?``."""
    marks = vars(func)
    if not marks.get("has_arguments", False):
        marks["has_arguments"] = True
        marks["decorators"] = []
    marks["getdoc"] = lambda: _help(func)
    return func


def _help(func: Any) -> str:
    from .options import parser_of

    parser_of(func)  # IPython's construction puts the full help in __doc__
    return str(func.__doc__)


class Refused(argparse.Action):
    """An option declared only so that it can be refused with a reason (``%puter_login
    --token``: a token on the line would be saved in the notebook). Its help says why; no
    "did you mean" offers it (:func:`.options.did_you_mean`)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)


F = TypeVar("F", bound=Callable[..., Any])
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")  # puter.js 2.6.3's reasoning_effort
VERBOSITIES = ("low", "medium", "high")

ARGUMENTS = [
    argument(
        "-m",
        "--model",
        help="the model for this cell (default: the notebook's, see %%puter_models)",
    ),
    argument(
        "-s",
        "--system",
        help="a system prompt; it stays with the thread until changed ('' clears it)",
    ),
    argument("-t", "--temperature", type=float, help="sampling temperature"),
    argument("--max-tokens", type=int, help="the most tokens the reply may have"),
    argument("--chat", metavar="NAME", help="the conversation thread (default: 'default')"),
    argument("--new", action="store_true", help="start the thread afresh with this cell"),
    argument("--no-history", action="store_true", help="one-shot: send no history and record nothing"),
    argument("--out", metavar="VAR", help="also store the reply text in this variable"),
    argument("--raw", action="store_true", help="show the reply as plain text, not Markdown"),
    argument("--no-interpolate", action="store_true", help="send {name} as written"),
    argument("--no-stream", action="store_true", help="wait for the whole reply instead of streaming"),
    argument(
        "--compare",
        metavar="MODELS",
        help="ask several models (comma-separated) at once and show the replies side by side",
    ),
    argument("--keep", metavar="MODEL", help="with --compare: record this model's reply in the conversation"),
    argument(
        "--context",
        metavar="NAMES",
        help="add a short description of these variables (comma-separated) to the message",
    ),
    argument(
        "--tools",
        metavar="NAMES",
        help="let the model call these functions of the notebook (comma-separated); each call shows as "
        "a line above the answer",
    ),
    argument("--approve", action="store_true", help="with --tools: ask before each call"),
    argument(
        "--image",
        metavar="SOURCE",
        action="append",
        help="attach an image to the question: a file, an https URL, or a variable holding image "
        "bytes, a PIL image or a matplotlib figure (repeatable)",
    ),
    argument(
        "--each",
        metavar="NAME",
        help="ask the cell once per item of NAME (a list, tuple, pandas Series or DataFrame): "
        "{item}, or {column} of a DataFrame row, is filled in; --out gets the replies",
    ),
    argument("--fresh", action="store_true", help="with --each: ask every item again, not only those left"),
    argument(
        "--effort",
        choices=EFFORTS,
        help="how hard a reasoning model thinks (sent as reasoning_effort): " + ", ".join(EFFORTS),
    ),
    argument(
        "--verbosity",
        choices=VERBOSITIES,
        help="how much a reasoning model says: " + ", ".join(VERBOSITIES),
    ),
    argument(
        "--web",
        action="store_true",
        help="let the model search the web (Puter's web_search tool, for OpenAI's models); "
        "the pages it cites are listed under the answer",
    ),
    argument(
        "--code",
        action="store_true",
        help="put the reply's code blocks into a new cell below (not run); in a terminal, on the next prompt",
    ),
]


def puter_options(func: F) -> F:
    """Declare ``%%puter``'s options on *func* (under ``@magic_options``), in the order
    ``%%puter?`` lists them."""
    for declared in reversed(ARGUMENTS):
        func = declared(func)
    return func


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
        self._rules = PolicyWatch(self._notebook_path)  # read at load, then at each magic's start
        self._told: set[tuple[str, str]] = set()  # the classroom's notes shown, each once

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
            from .classroom.gate import Classroom

            def provider(model: str) -> str | None:
                return self._session.provider_of(model) if self._session is not None else None

            self._classroom = Classroom(
                self._rules, show=show, log_file=lambda: self.log_file, provider=provider, told=self._told
            )
            self._classroom.new_cell(self._cell_id)
        return self._classroom

    def announce(self) -> None:
        """When the extension loads: read the rules, show what in them was not taken as written,
        and name them in one note if there are any (notes shown once: the classroom knows them)."""
        rules = self._rules.rules()
        notes = [(problem.title, problem.detail) for problem in rules.problems]
        self._told.update(notes)
        if rules.said:
            notes.append(("Classroom rules for this notebook:", f"{summary_line(rules)}. See %puter_policy."))
        if notes:
            from .views import Note

            for title, text in notes:
                show(Note(title, text))

    def _notebook_path(self) -> Path | None:
        """The notebook this kernel runs (the frontend says; ``notebook_file`` where it does not)."""
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
                self._catalogue,
            )
        return self._failures

    def _catalogue(self) -> Any:
        """The models the server lists (read once per origin), for "did you mean"; None
        when it cannot be read (not signed in, a server gone). While recording or replaying,
        only a list already read: a recording holds the requests the cells made, no more."""
        from ..api.errors import PuterError

        if self._session is None or self._session.client is None:
            return None
        if self._session.tape is not None:
            read = self._session.models_read()
            return read[0] if read is not None else None
        try:
            # A read here is fine: a ModelNotFound means the server just answered, and the list
            # is read at most once per origin (the session keeps a list read well).
            return self._session.models()
        except PuterError:
            return None

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
        if self._classroom is not None:  # else it starts with this cell when a magic first asks
            self._classroom.new_cell(self._cell_id)

    def _namespace(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    def cell_key(self) -> str | None:
        """This cell's id (with a counter for a second question in the same cell)."""
        if self._cell_id is None:
            return None
        self._cell_seq += 1
        return self._cell_id if self._cell_seq == 1 else f"{self._cell_id}#{self._cell_seq}"

    # -- %%puter -----------------------------------------------------------------------

    @magic_options
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
        from .options import read_ask

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

    @magic_options
    @argument("--refresh", action="store_true", help="reload the list from the server")
    @line_magic
    def puter_models(self, line: str) -> None:
        """Pick the notebook's default model (a searchable selector above the table of models;
        the table alone in a terminal)."""
        from .options import parse_line

        args = parse_line(self.puter_models, line)
        from .live import cell_output
        from .widgets import ModelTable

        with self.failures.guard():
            table = ModelTable.read(
                self.session, self.default_model, refresh=args.refresh, raising=self.failures.raising
            )
            if cell_output(self.settings(), show).live:
                selector = self.model_selector()
                selector.refresh(force=False)  # the session's list: this origin's, maybe just reloaded
                show(selector)
                table.limit = ModelTable.NOTEBOOK_ROWS  # a saved notebook holds it: bounded
            show(table)  # also what an exported page or a frontend without widgets shows

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

    @magic_options
    @argument("-m", "--model", help="the model to ask (default: the notebook's)")
    @argument("--chat", metavar="NAME", help="the conversation thread (default: 'default')")
    @line_magic
    def puter_explain(self, line: str) -> None:
        """Ask for the notebook's most recent error to be explained for a learner, with a fix.

        Sends the error's type and message, the trimmed traceback and the code of the cell
        that raised it, and nothing else.
        """
        from .options import given, parse_line

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
        from .classroom.gate import HOW_TO_SET, policy_view

        if line.strip():
            raise UsageError(f"%puter_policy takes no arguments; teachers set the rules with {HOW_TO_SET}")
        show(policy_view(self.classroom))

    def _cell_label(self, filename: str) -> str | None:
        """``Cell In[5]`` for a cell's file, as IPython names it in its own tracebacks."""
        format_name = getattr(getattr(self.shell, "compile", None), "format_code_name", None)
        named = format_name(filename) if format_name is not None else None
        return " ".join(named) if isinstance(named, tuple) else None


# -- %puter_login, %puter_logout, %puter_usage ------------------------------------------------------


@magics_class
class AccountMagics(Magics):
    """``%puter_login``, ``%puter_logout``, ``%puter_usage``."""

    def __init__(self, shell: Any, *, host: Host) -> None:
        super().__init__(shell)
        self.host = host

    # -- %puter_login / %puter_logout ------------------------------------------------------

    @magic_options
    @argument("--origin", help="API origin, e.g. https://api.puter.com or http://api.puter.localhost:4100")
    @argument("--token-env", metavar="NAME", help="read the token from this environment variable")
    @argument(
        "--no-guest",
        action="store_true",
        help="the sign-in button asks for an account (no temporary guest account on a first visit)",
    )
    @argument(
        "--no-wait",
        action="store_true",
        help="show the sign-in button and end the cell at once (the cells below do not wait for the click)",
    )
    @argument(
        "--button",
        action="store_true",
        help="sign in with the button even when a token is in the environment or saved "
        "(where no button can show: Puter's token page and the prompt)",
    )
    @argument(
        "--prompt",
        action="store_true",
        help="show Puter's token page and take a token pasted at the masked prompt (no button)",
    )
    @argument(
        "--gui-origin",
        metavar="URL",
        help="Puter's website for the sign-in pages (default: the API origin's pair, api.X -> X)",
    )
    @argument(
        "--browser",
        action="store_true",
        help="sign in through Puter's AuthMe page, for a kernel on the browser's own machine",
    )
    @argument("--sandbox", action="store_true", help="start the offline sandbox in this kernel and use it")
    @argument("--save", action="store_true", help="keep this login for next time (a private file)")
    @argument("--token", action=Refused, help="refused: a token here would be saved in the notebook")
    @argument("extra", nargs="*", help="refused (see --token)")
    @line_magic
    def puter_login(self, line: str) -> None:
        """Sign in to Puter and say who you are.

        The token comes from, first match wins: --token-env NAME, $PUTER_AUTH_TOKEN, a
        PUTER_AUTH_TOKEN in Colab's Secrets, a saved login for the origin. Without one, a
        notebook shows a "Sign in with Puter" button (one click; a guest account on a
        browser's first visit unless --no-guest) and waits for it (login_timeout); a
        terminal or VS Code shows Puter's token page and asks at a masked prompt.
        --prompt takes a pasted token there instead of the button (JupyterLite's kernel
        cannot hold the cell for the click); --browser uses Puter's AuthMe page instead;
        --sandbox needs no account at all.
        """

        from .account import SignInFlow, frontend_of
        from .options import read_login

        login = read_login(self.puter_login, line)
        host = self.host
        flow = SignInFlow(host.session, host.settings(), show, host.failures, frontend_of(self.shell))
        with host.failures.guard():
            if login.sandbox:
                host.default_model = flow.sandbox()
                return
            flow.login(login)

    @magic_options
    @argument("--keep", action="store_true", help="sign out of this kernel but keep the saved login")
    @line_magic
    def puter_logout(self, line: str) -> None:
        """Sign out: this kernel forgets the token, the saved login for this origin is
        forgotten (--keep keeps it), an in-kernel sandbox stops. The token itself stays valid
        until it is revoked on Puter's website (Settings → Security → sessions), which the
        output names."""
        from .options import parse_line

        args = parse_line(self.puter_logout, line)
        from ..api.auth import LoginStore
        from .views import Note

        session = self.host.session
        origin = session.origin
        gui = session.client.gui_origin if session.client is not None else None
        forgot = False if args.keep or origin is None else LoginStore().forget(origin)
        had_sandbox = session.sandbox is not None
        in_sandbox = session.sandbox is not None and origin == session.sandbox.origin
        session.close()
        if origin is None:
            show(Note("Not signed in.", "This kernel holds no Puter token."))
            return
        done = []
        if not in_sandbox:
            settings = self.host.settings()
            if settings.gui_origin:
                gui = settings.gui_origin.rstrip("/")
            where = f" at {gui}: Settings → Security → sessions" if gui else " on Puter's site"
            done.append(f"This kernel forgot the token; it stays valid until you revoke it{where}.")
        if forgot:
            done.append("Saved login forgotten.")
        elif args.keep:
            done.append("Saved login kept (--keep).")
        if had_sandbox:
            done.append("Sandbox stopped.")
        show(Note(f"Signed out of {origin}.", " ".join(done)))

    def _show_allowance(self) -> None:
        """What Puter says of the account this month (read at most once a minute)."""
        from ..api.errors import NotFound
        from .account import AllowanceView
        from .failures import gui_host
        from .views import Note

        with self.host.failures.guard():
            try:
                allowance = self.host.session.allowance(max_age=60.0)
            except NotFound:  # an older or stripped-down server: no metering routes
                show(Note("Puter account:", "this server does not report an allowance (no /metering/usage)."))
                return
            if allowance is not None:
                show(AllowanceView(allowance, gui_host(self.host.session.origin)))

    @magic_options
    @argument("--reset", action="store_true", help="start counting afresh")
    @line_magic
    def puter_usage(self, line: str) -> None:
        """Tokens and cost per model used by this notebook (cost where the server reports it),
        and what Puter says of the account this month: its allowance, used and left."""
        from .options import parse_line

        args = parse_line(self.puter_usage, line)
        meter = self.host.session.meter
        if args.reset:
            from .views import Note

            meter.reset()
            show(Note("Usage meter reset."))
            return
        from .views import UsageTable

        show(UsageTable(meter))
        budget = self.host.settings().budget_usd_cents
        if budget is not None:
            from .views import Note

            left = budget - meter.spent_cents
            show(Note(f"Budget: {budget:g}¢", f"{max(left, 0):.4g}¢ left."))
        self._show_allowance()  # the notebook's own figures first, then the account's


# -- %puter_history, %puter_reset, %puter_record, %puter_replay -------------------------------------


@magics_class
class HistoryMagics(Magics):
    """``%puter_history``, ``%puter_reset``, ``%puter_record``, ``%puter_replay``."""

    def __init__(self, shell: Any, *, host: Host) -> None:
        super().__init__(shell)
        self.host = host

    # -- history and reset ------------------------------------------------------------------

    @magic_options
    @argument("--chat", metavar="NAME", help="the thread (default: 'default')")
    @argument("--json", action="store_true", help="return the thread as JSON-ready data")
    @argument("--save", metavar="FILE", help="write the thread to a JSON file")
    @argument("--load", metavar="FILE", help="replace the thread with one from a JSON file")
    @argument("--replaced", action="store_true", help="show the replies that re-runs replaced")
    @line_magic
    def puter_history(self, line: str) -> Any:
        """Show a thread's transcript, or move it to and from a JSON file."""
        from .options import parse_line

        args = parse_line(self.puter_history, line)
        from .conversation import Thread
        from .views import Note, ReplyView

        thread = self.host.session.conversations.get(args.chat)
        if args.load:
            try:
                loaded = Thread.load(args.load, thread.name)
            except (OSError, ValueError) as exc:
                raise UsageError(f"%puter_history --load: {exc}") from None
            self.host.session.conversations.put(loaded)
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
            from .views import BoundedData

            data = BoundedData(thread.to_json())  # all of it; only its display is bounded
            data.limit = self.host.settings().max_display_chars
            data.where = "the value itself is whole (data = %puter_history --json)"
            return data
        if args.replaced:
            replaced = Thread(thread.name, list(thread.replaced))
            text = replaced.transcript("Replaced replies of thread")
        else:
            text = thread.transcript()
        where = "the whole thread is in %puter_history --json (or --save FILE)"
        limit = self.host.settings().max_display_chars
        show(ReplyView(text, show_footer=False, limit=limit, where=where))
        return None

    @magic_options
    @argument("--chat", metavar="NAME", help="the thread to reset (default: 'default')")
    @argument("--all", action="store_true", help="reset every thread")
    @line_magic
    def puter_reset(self, line: str) -> None:
        """Forget a thread's conversation (or all threads with --all)."""
        from .options import parse_line

        args = parse_line(self.puter_reset, line)
        if args.all and args.chat:
            raise UsageError("%puter_reset takes --chat NAME or --all, not both")
        from .views import Note

        conversations = self.host.session.conversations
        if args.all:
            count = len(conversations.threads)
            conversations.reset_all()
            show(Note("Reset every thread", f"({plural(count, 'thread')} forgotten)."))
            return
        thread = conversations.get(args.chat)
        count = len(thread.exchanges)
        conversations.reset(thread.name)
        show(Note(f"Reset thread {thread.name!r}", f"({plural(count, 'exchange')} forgotten)."))

    # -- record and replay -----------------------------------------------------------------

    @magic_options
    @argument("file", nargs="?", help="the JSON Lines file to record to (appended)")
    @argument("--off", action="store_true", help="stop recording")
    @line_magic
    def puter_record(self, line: str) -> None:
        """Record every Puter request of this notebook and its reply to FILE (no token is written)."""
        from .options import parse_line

        args = parse_line(self.puter_record, line)
        from .views import Note

        if args.off:
            tape = self.host.session.stop_tape()
            what = (
                f"{plural(tape.recorded, 'exchange')} in {tape.path}"
                if tape and tape.recording
                else "nothing"
            )
            show(Note("Recording stopped:", f"{what}."))
            return
        if not args.file:
            raise UsageError("%puter_record needs a FILE (or --off)")
        try:
            tape = self.host.session.record_to(args.file)
        except OSError as exc:
            raise UsageError(f"%puter_record: {exc}") from None
        show(
            Note(
                f"Recording to {tape.path}.",
                "Replay it later, with no network, with",
                code=f"%puter_replay {args.file}",
            )
        )

    @magic_options
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
        from .options import parse_line

        args = parse_line(self.puter_replay, line)
        from .views import Note

        if args.off:
            tape = self.host.session.stop_tape()
            what = (
                f"{plural(tape.replayed, 'reply')} came from {tape.path}" if tape and tape.replaying else ""
            )
            show(Note("Replay stopped.", what))
            return
        if not args.file:
            raise UsageError("%puter_replay needs a FILE (or --off)")
        try:
            tape = self.host.session.replay_from(
                args.file, fallthrough=args.fallthrough, pace="fast" if args.fast else "original"
            )
        except ValueError as exc:
            raise UsageError(f"%puter_replay: {exc}") from None
        rest = "others go to the network" if args.fallthrough else "nothing else is sent anywhere"
        main = tape.main_model()
        if main and not self.host.default_model:
            self.host.default_model = main
            rest += f". Default model: {main}"
        count = plural(len(tape.entries), "recorded exchange")
        show(Note(f"Replaying {count} from {tape.path};", f"{rest}."))


# -- the media magics -------------------------------------------------------------------------------


_NAME_ARGS = re.compile(r"\{([A-Za-z_]\w*)\}")

# options several media magics take, declared once
_free_sample = argument(
    "--test", action="store_true", help="Puter's free sample (test_mode): try the cell without spending"
)
_as_written = argument("--no-interpolate", action="store_true", help="send {name} as written")


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
        from .media import MediaFlow

        return MediaFlow(self.host.session, self.host.settings(), show, self.host.failures)

    def _text_and_args(self, magic: Any, line: str, cell: str | None, name: str) -> tuple[str, Any]:
        """The text (the cell, or the line after its options) with ``{name}`` filled in, and the options."""
        from .options import parse_line, read_words, split_options

        if cell is None:
            words, text = split_options(magic, line)
            args = read_words(magic, words)
        else:
            args, text = parse_line(magic, line), cell
        if not text.strip():
            raise UsageError(
                f"%{name} needs text: %%{name} [options] with the text in the cell, or %{name} TEXT"
            )
        if not args.no_interpolate:
            from .prompt import interpolate

            text, _ = interpolate(text, self._namespace)
        return text.strip(), args

    def _begin(self, magic: str, args: Any) -> None:
        """Tell the classroom which magic asks, with which options (its log and metadata)."""
        from .options import given

        self.host.classroom.begin(magic, given(args))

    def _keep(self, out: str | None, value: Any) -> None:
        if out and value is not None:
            self._namespace[out] = value

    @magic_options
    @argument("-m", "--model", help="the image model (default: the server's)")
    @argument("--quality", metavar="Q", help="the model's quality level, e.g. low, medium, high")
    @argument("--ratio", metavar="W:H", help="the shape, e.g. 16:9")
    @argument("--save", metavar="FILE", help="also write the image to FILE")
    @argument("--out", metavar="VAR", help="keep the image (an ImageResult) in variable VAR")
    @_free_sample
    @_as_written
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

    @magic_options
    @argument("--voice", metavar="V", help="the voice (%%puter_speak --voices lists them)")
    @argument("--provider", metavar="P", help="the speech provider, e.g. openai, aws-polly, elevenlabs")
    @argument("--voices", action="store_true", help="list the voices and engines (of --provider P) instead")
    @argument("-m", "--model", help="the provider's model")
    @argument("--save", metavar="FILE", help="also write the audio to FILE")
    @argument("--out", metavar="VAR", help="keep the audio (an AudioResult) in variable VAR")
    @_free_sample
    @_as_written
    @line_cell_magic
    def puter_speak(self, line: str, cell: str | None = None) -> None:
        """Say the cell's text aloud: an audio player. {name} is filled in as in %%puter.

        The line form, %puter_speak [options] TEXT, takes the same options before the text.
        %puter_speak --voices [--provider P] lists the voices and engines instead.
        """
        from .options import parse_line, read_words, split_options

        words, rest = split_options(self.puter_speak, line)
        early = read_words(self.puter_speak, words) if cell is None else parse_line(self.puter_speak, line)
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

    @magic_options
    @argument("source", nargs="?", help="an audio file, a Puter path, or a variable (bytes, an AudioResult)")
    @argument("--voice", metavar="V", help="the voice to say it in (the provider's voice id, sent as given)")
    @argument("-m", "--model", help="the provider's model (ElevenLabs: eleven_multilingual_sts_v2)")
    @argument("--save", metavar="FILE", help="also write the audio to FILE")
    @argument("--out", metavar="VAR", help="keep the audio (an AudioResult) in variable VAR")
    @_free_sample
    @line_magic
    def puter_voice(self, line: str) -> None:
        """The voice changer: say SOURCE again in another voice (--voice V) and play it.

        SOURCE is an audio file (at most 25 MB), a Puter path (puter:~/talk.mp3) or a variable
        holding audio bytes or an earlier result (%%puter_speak --out VAR); not a URL.
        """
        from .media import resolve_source
        from .options import parse_line

        args = parse_line(self.puter_voice, line)
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

    @magic_options
    @argument("-m", "--model", help="the video model (default: the server's)")
    @argument(
        "--seconds", type=float, metavar="N", help="how long (the server snaps it to what the model allows)"
    )
    @argument("--size", metavar="WxH", help="the frame size, e.g. 1280x720 (snapped as --seconds is)")
    @argument("--save", metavar="FILE", help="also write the video to FILE")
    @argument("--out", metavar="VAR", help="keep the video (a VideoResult) in variable VAR")
    @_free_sample
    @_as_written
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

    @magic_options
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
        from .options import parse_line

        args = parse_line(self.puter_transcribe, line)
        source, name = self._source(args, "%puter_transcribe")
        result = self._flow().transcribe(
            source, name, translate=args.translate, language=args.language, test=args.test
        )
        self._keep(args.out, result)

    @magic_options
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
        from .options import parse_line

        args = parse_line(self.puter_ocr, line)
        source, name = self._source(args, "%puter_ocr")
        result = self._flow().ocr(source, name, provider=args.provider, test=args.test)
        self._keep(args.out, result)

    def _source(self, args: Any, magic: str) -> tuple[Any, str]:
        """SOURCE as the flow takes it; with --test it may be left out (Puter's sample needs none)."""
        from .media import resolve_source

        self._begin(magic, args)
        if args.source is None:
            if not args.test:
                raise UsageError(
                    f"{magic} needs a file, a URL or a variable name (or --test for Puter's sample)"
                )
            return None, ""
        return resolve_source(args.source, self._namespace, magic)

    @magic_options
    @argument("--driver", metavar="D", help="the driver (default: the interface's own)")
    @argument("--out", metavar="VAR", help="keep the result in VAR")
    @line_magic
    @no_var_expand  # ARGS is JSON, and {name} names a dict: IPython must not format either first
    def puter_call(self, line: str) -> None:
        """Call any driver: %puter_call INTERFACE METHOD [ARGS] [--driver D] [--out VAR].

        ARGS is a JSON object, or {name} of a dict variable. A JSON result shows in the JSON
        viewer; an image or audio reply as one; a failure as the usual warning.
        """
        from .options import parse_line, split_options

        words, rest = split_options(self.puter_call, line)
        head = rest.split(None, 2)
        if len(head) < 2:
            raise UsageError("%puter_call needs INTERFACE METHOD, e.g. %puter_call puter-tts list_voices")
        interface, method = head[0], head[1]
        call_args, tail = self._call_args(head[2] if len(head) > 2 else "")
        args = parse_line(self.puter_call, " ".join([*map(_quote, words), tail]))
        self._begin("%puter_call", args)
        result = self._flow().call(interface, method, call_args, args.driver, args.out)
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


# -- loading ----------------------------------------------------------------------------------------

#: Line magics whose argument is free text for a model; a ``?`` at the end is part of it.
FREE_TEXT_MAGICS = frozenset({"puter", "puter_image", "puter_speak"})

# A line magic with arguments: indentation, %name, one space, the rest (IPython's own split).
_MAGIC_LINE = re.compile(r"(?P<indent>[ \t]*)%(?P<name>\w+) ")


def ask_not_help(lines: list[str]) -> list[str]:
    """Input transformer: ``%puter ...?`` asks instead of asking IPython for help.

    Rewrites only lines of code that are one of :data:`FREE_TEXT_MAGICS` with arguments and
    end in ``?``; ``%puter?`` and ``%puter??`` (help), other magics, the body of a ``%%cell``
    magic and text inside strings or brackets are left alone.
    """
    if not lines or lines[0].startswith("%%"):
        return lines  # a cell magic: what follows its first line is text, not code
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _MAGIC_LINE.match(lines[i])
        if match and match["name"] in FREE_TEXT_MAGICS:
            end = i
            while lines[end].endswith("\\\n") and end + 1 < len(lines):
                end += 1
            body = lines[end].rstrip("\r\n")
            pieces = [line.rstrip()[:-1] for line in lines[i:end]] + [body.rstrip()]
            logical = " ".join(pieces)[len(match["indent"]) :]
            if logical.endswith("?") and _between_statements(out):
                _, _, args = logical[1:].partition(" ")
                call = f"get_ipython().run_line_magic({match['name']!r}, {args!r})"
                out.append(match["indent"] + call + lines[end][len(body) :])
                i = end + 1
                continue
        out.append(lines[i])
        i += 1
    return out


def _between_statements(before: list[str]) -> bool:
    """True if the code *before* a line leaves no string, bracket or continuation open."""
    if not before:
        return True
    import io
    import tokenize

    from IPython.core.inputtransformer2 import TransformerManager

    try:
        code = TransformerManager().transform_cell("".join(before))
        for _ in tokenize.generate_tokens(io.StringIO(code).readline):
            pass
    except (SyntaxError, tokenize.TokenError):
        return False
    return True


MAGICS_CLASSES = ("PuterMagics", "AccountMagics", "HistoryMagics", "MediaMagics")


def load(ipython: Any) -> None:
    """Register the magics and the input transformer once; loading again is harmless."""
    if "PuterMagics" in ipython.magics_manager.registry:
        return
    magics = PuterMagics(ipython)
    ipython.register_magics(magics)
    ipython.register_magics(AccountMagics(ipython, host=magics))
    ipython.register_magics(HistoryMagics(ipython, host=magics))
    ipython.register_magics(MediaMagics(ipython, host=magics))
    ipython.events.register("pre_run_cell", magics.pre_run_cell)
    ipython.events.register("post_run_cell", magics.post_run_cell)
    if ask_not_help not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(ask_not_help)
    magics.announce()  # the rules are read now; a note names them when there are any


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
