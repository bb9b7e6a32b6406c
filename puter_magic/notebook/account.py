"""Signing in and out, and the account: what ``%puter_login``, ``%puter_logout`` and
``%puter_usage`` do (their adapters are :class:`~.magics.AccountMagics`).

The token comes from, first match wins: ``--token-env NAME``, ``$PUTER_AUTH_TOKEN``, a
``PUTER_AUTH_TOKEN`` kept in Colab's Secrets, a saved login for the origin. Without one:

- in a notebook in a browser, the "Sign in with Puter" button (:mod:`.popup`): one click
  opens Puter's sign-in popup (a guest account on a browser's first visit unless
  ``--no-guest``), and the cell waits for it (:mod:`.waiting`) so that Run All goes on
  signed in. Where nobody can click (nbconvert, papermill) it stops at once with one line;
- in terminal IPython and VS Code (whose outputs cannot open popups), Puter's token page
  (``<GUI>/?action=copyauth``) and a masked prompt.

``--browser`` is Puter's AuthMe page, for a kernel on the browser's own machine. The account's
monthly allowance (Puter's ``GET /metering/usage``) is shown by ``%puter_usage``, and named
in a note before a ``--each`` batch that would likely spend more than is left.
"""

from __future__ import annotations

import html
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from IPython.core.error import StdinNotImplementedError, UsageError

from ..api.account import Allowance
from ..api.errors import PuterError
from ..api.humanize import plural
from ..api.usage import UsageMeter
from .state import Flow, frontend_takes_input
from .views import MUTED, NOT_MATH, Note

if TYPE_CHECKING:
    from ..api.origin import Origin
    from .options import LoginOptions
    from .popup import SignInButton

__all__ = [
    "APP_ONLY",
    "AllowanceView",
    "Frontend",
    "PopupSignIn",
    "SignInFlow",
    "batch_note",
    "check_can_prompt",
    "frontend_of",
    "prompt_token",
]

# -- signing in -------------------------------------------------------------------------------------

Frontend = Literal["terminal", "jupyter", "vscode"]

# How long a waiting cell gives the button to show up before it takes the frontend for one
# that shows no widgets (a console, an old frontend) and asks at the prompt instead.
RENDER_GRACE = 20.0
CANCELLED = "Sign-in was cancelled; nothing changed"
SIGNED_IN_SOURCE = "Puter sign-in"

BROWSER_CANNOT_LISTEN = (
    "%puter_login --browser needs a listener on this machine, which Python in a web page "
    "(JupyterLite) cannot open: use the Sign in with Puter button, or paste a token at the prompt"
)


def frontend_of(shell: Any) -> Frontend:
    """Where this IPython shows its outputs: a terminal, a Jupyter frontend in a browser, or
    VS Code. VS Code starts its kernels with ``VSCODE_PID`` (``VSCODE_CWD`` under WSL) in the
    environment; a Jupyter server started from VS Code's own terminal has them too, but also
    ``TERM_PROGRAM=vscode``, and its notebooks are in a browser. (A VS Code output that shows
    the button all the same tells the kernel it cannot open popups: see popup.js.)"""
    if getattr(shell, "kernel", None) is None:
        return "terminal"
    env = os.environ
    if (env.get("VSCODE_PID") or env.get("VSCODE_CWD")) and env.get("TERM_PROGRAM") != "vscode":
        return "vscode"
    return "jupyter"


def gui_origin_for(where: Origin, *overrides: str | None, allow_insecure_http: bool = False) -> str:
    """The GUI origin (Puter's website, where its sign-in pages live) for API origin *where*:
    the first non-empty override, else the pair Puter makes (``api.X`` -> ``X``)."""
    from ..api.origin import parse_gui_origin

    for override in overrides:
        if override and override.strip():
            return parse_gui_origin(override, allow_insecure_http=allow_insecure_http)
    return where.gui_url()


def copyauth_url(gui: str) -> str:
    return f"{gui}/?action=copyauth"


@dataclass
class SignInFlow(Flow):
    frontend: Frontend = "terminal"

    def sandbox(self) -> str:
        """Start the in-kernel sandbox, sign in to it; the default model it sets."""
        from .views import Note

        sandbox = self.session.start_sandbox(pace=self.settings.sandbox_pace)
        model = self.session.default_model or ""
        if sandbox.running:
            where, how = f"at {sandbox.origin}", "It runs offline, inside this IPython"
        else:  # answering in-process: this Python cannot listen (a browser)
            where, how = "in this page", "It answers inside this page's Python, with no server"
        self.display(
            Note(
                f"Signed in to the sandbox {where} as {self.session.username}.",
                f"{how}; no account needed. Default model: {model}.",
            )
        )
        return model

    def _reachable(self, origin: str) -> None:
        from ..api.client import PuterClient

        with PuterClient(origin, None, **self.settings.client_options) as probe:
            probe.check_reachable()

    def login(self, options: LoginOptions) -> None:
        """Find the token, verify it, say who signed in. ``button``: straight to the button (or,
        where none can show, the token page), whatever token the environment holds. ``prompt``:
        the token page and a pasted token, never the button."""
        from ..api import runtime
        from ..api.auth import LoginStore, authme_sign_in, token_from_colab_secrets, token_from_env
        from ..api.origin import parse_origin
        from .views import Note

        settings = self.settings
        origin, token_env, browser, save = options.origin, options.token_env, options.browser, options.save
        gui_origin, guest, wait, button, prompt = (
            options.gui_origin,
            options.guest,
            options.wait,
            options.button,
            options.prompt,
        )
        try:
            where = parse_origin(origin or settings.origin, allow_insecure_http=settings.allow_insecure_http)
        except ValueError as exc:
            raise UsageError(f"%puter_login --origin: {exc}") from None
        try:
            gui = gui_origin_for(
                where, gui_origin, settings.gui_origin, allow_insecure_http=settings.allow_insecure_http
            )
        except ValueError as exc:
            named = "--gui-origin" if gui_origin else "PuterMagics.gui_origin"
            raise UsageError(f"%puter_login {named}: {exc}") from None
        store = LoginStore()
        if browser and not runtime.can_listen():
            raise UsageError(BROWSER_CANNOT_LISTEN)
        if browser:

            def show_link(url: str) -> None:
                self.display(
                    Note(
                        "Sign in to Puter in your browser.", "If no browser opened, open this link:", link=url
                    )
                )

            token = authme_sign_in(gui, timeout=settings.login_timeout, show_link=show_link)
            source = "browser sign-in"
        else:
            found = None if button or prompt else token_from_env(token_env) if token_env else token_from_env()
            if token_env and found is None:
                state = "is empty" if token_env in os.environ else "is not set"
                raise UsageError(f"%puter_login --token-env: ${token_env} {state}")
            if found is None and not token_env and not button and not prompt:
                found = token_from_colab_secrets()
            saved = None if found or button or prompt else store.get(where.url)
            if found:
                token, source = found.token, found.source
            elif saved:
                token, source = saved.token, "saved login"
            elif self.frontend == "jupyter" and not prompt:
                if wait and not _can_prompt():
                    # Nobody can click or type here (nbconvert, papermill): stop at once, as before.
                    raise _refused()
                PopupSignIn(self, where, gui, guest=guest, save=save).run(wait=wait)
                return
            else:
                token, source = self._token_page(where, gui), "prompt"
        self.display(self.finish(where, token, source, save=save, gui=gui))

    def _token_page(self, where: Origin, gui: str) -> str:
        """Show Puter's token page and take the token at the masked prompt."""
        from .views import Note

        check_can_prompt()
        self._reachable(where.url)  # never ask for a token a server that is not there
        if self.frontend == "vscode":
            title = "VS Code's notebook outputs cannot open Puter's sign-in window."
            detail = "Copy a token from Puter's token page and paste it at the prompt:"
        else:
            title = "Sign in at Puter's token page,"
            detail = "copy the token it shows and paste it at the prompt below:"
        self.display(Note(title, detail, link=copyauth_url(gui)))
        return prompt_token(where.url)

    def finish(self, where: Origin, token: str, source: str, *, save: bool, gui: str) -> Note:
        """Verify *token* with ``/whoami`` and switch to it (an earlier login stays if Puter
        says no: the PuterError propagates); the note that says who signed in. A ``--save``
        that cannot be written (a read-only home) leaves the sign-in standing and says so."""
        from ..api.account import Account
        from ..api.auth import LoginStore
        from .views import Note

        account = self.session.sign_in(where.url, token, **self.settings.client_options)
        saved_note = ""
        if save:
            store = LoginStore()
            try:
                path = store.save(where.url, token, self.session.username)
            except OSError as exc:
                why = exc.strerror or exc
                saved_note = f" Not saved for next time: could not write {store.path} ({why})."
            else:
                saved_note = f" Saved for next time in {path}."
        title = f"Signed in to {where.url} as {self.session.username}"
        detail = f"(token from {source}).{saved_note}"
        if Account.from_whoami(account).guest:
            detail += (
                " This is a temporary guest account: it has a small free allowance and tighter "
                "limits, and only this browser can get back to it. To keep it, sign up at "
                f"{gui} in the same browser."
            )
        return Note(title, detail)


class PopupSignIn:
    """One sign-in through the button: the widget, what the page reported, the outcome.

    The page's messages arrive in :meth:`_event` (while the cell waits, or later, when the
    button is clicked after the cell ended); a token is checked at once with ``/whoami``
    and the button's row becomes the "Signed in" line, or says why not.
    """

    def __init__(self, flow: SignInFlow, where: Origin, gui: str, *, guest: bool, save: bool) -> None:
        from .popup import SignInButton

        self.flow = flow
        self.where = where
        self.gui = gui
        self.save = save
        self.guest = guest
        self.widget: SignInButton = SignInButton(gui, guest=guest, on_event=self._event)
        self.signed_in: Note | None = None
        self.failure: PuterError | None = None
        self.cancelled: str | None = None

    # -- what the page says ------------------------------------------------------------

    def _event(self, kind: str, detail: dict[str, Any]) -> None:
        if kind == "token":
            self._accept(detail["token"])
        elif kind == "cancelled" and self.signed_in is None:
            self.cancelled = str(detail.get("reason") or "closed")
            self.widget.show(f"{CANCELLED}. Click the button to try again.")

    def _accept(self, token: str) -> None:
        if self.signed_in is not None:
            return  # signed in already: a second token changes nothing
        self.failure = self.cancelled = None
        self.widget.show("Checking the sign-in with Puter…", state="checking")
        try:
            note = self.flow.finish(self.where, token, SIGNED_IN_SOURCE, save=self.save, gui=self.gui)
        except PuterError as err:
            self.failure = err
            plain = repr(self.flow.failures.warning(err)).replace("\n", " ")  # its text/plain
            again = "(Nothing changed; click the button to try again.)"
            self.widget.show(f"{plain} {again}", state="ready", tone="warn")
            return
        self.signed_in = note
        self.widget.show(
            repr(note), state="signed-in", tone="done", note_html=note._repr_mimebundle_()["text/html"]
        )

    # -- the cell ----------------------------------------------------------------------

    def run(self, *, wait: bool) -> None:
        """Show the button; wait for the click where the cell can (see :mod:`.waiting`)."""
        from . import waiting
        from .views import Note

        if not wait:
            self.flow.display(self.widget)
            if not waiting.can_wait():  # nbconvert, papermill: nobody clicks, and an exported
                self.flow.display(NO_CLICK_HERE)  # page without network draws no button at all
            return
        self.flow._reachable(self.where.url)  # a button for a server that is not there helps nobody
        handle = self.flow.display(self.widget, display_id=True)
        if not waiting.can_wait():
            self.flow.display(
                Note(
                    "Click “Sign in with Puter” above.",
                    "This kernel cannot hold the cell until you do: run the cells below after signing in "
                    "(or paste a token from Puter's token page: %puter_login --prompt).",
                )
            )
            return
        started = time.monotonic()

        def done() -> bool:
            if self.signed_in or self.failure or self.cancelled:
                return True
            if self.widget.rendered:
                return not self.widget.popups
            return time.monotonic() - started > RENDER_GRACE

        timeout = self.flow.settings.login_timeout
        outcome = waiting.wait_until(done, timeout)
        if self.signed_in is not None:
            if handle is not None:
                handle.update(self.signed_in)
            else:
                self.flow.display(self.signed_in)
            self.widget.close()
        elif self.failure is not None:
            self.flow.failures.report(self.failure)
        elif self.cancelled is not None:
            self.widget.show("")  # the note below says it (the row says it only when nobody waits)
            hint = "Click the button to try again, or run %puter_login again."
            if self.guest:
                hint += (
                    " If Puter would not make a guest account (its abuse checks sometimes refuse one), "
                    "sign in or sign up with an account in the popup: %puter_login --no-guest."
                )
            self.flow.display(Note(f"{CANCELLED}.", hint))
        elif outcome == "done" and (not self.widget.rendered or not self.widget.popups):
            self._prompt_instead()
        elif outcome == "timeout":
            self.flow.display(
                Note(
                    f"No sign-in within {timeout:g} s (login_timeout); nothing changed.",
                    "The button still works: click it, then run the cells below again. To wait longer: "
                    "%config PuterMagics.login_timeout = 600",
                )
            )
        # "unavailable": the cell ends; the button stays and still signs in when clicked.

    def _prompt_instead(self) -> None:
        """This frontend shows no button (or cannot open popups): the token page and prompt."""
        flow = self.flow
        token = flow._token_page(self.where, self.gui)
        flow.display(flow.finish(self.where, token, "prompt", save=self.save, gui=self.gui))


# What a --no-wait cell run where nobody can click says beside its button: that widget's view
# needs the widget manager (an exported page loads it from the network), so this note is what
# an exported page, a viewer or a frontend without widgets can always show.
NO_CLICK_HERE = Note(
    "Sign in with Puter: in a live notebook a button here signs in with one click.",
    "This run had nobody to click it (nbconvert, papermill), so it did not sign in; "
    "without a browser, use PUTER_AUTH_TOKEN or paste a token at the prompt:",
    code="%puter_login --prompt",
)


def _can_prompt() -> bool:
    """Whether a masked prompt can be shown here without noise (and, in a kernel, whether
    its frontend takes input at all: nbclient's and papermill's do not).

    A Jupyter kernel puts its own ``getpass`` in place (it refuses cleanly when the
    frontend takes no input, as nbclient's does). The standard one needs a terminal:
    without ``/dev/tty`` or a terminal on stdin it warns (GetPassWarning, "input may be
    echoed") and reads stdin in clear, so it is not called then.
    """
    import getpass
    import sys

    from ..api import runtime

    if runtime.in_browser():
        # JupyterLite's kernel puts the page's own prompt in place of getpass (a JavaScript
        # function); a Python with no such page around it has nothing to ask with.
        from IPython import get_ipython

        stdlib = [getattr(getpass, n, None) for n in ("unix_getpass", "win_getpass", "fallback_getpass")]
        return get_ipython() is not None and getpass.getpass not in stdlib
    if getattr(getpass.getpass, "__module__", "getpass") != "getpass":
        from IPython import get_ipython

        return frontend_takes_input(get_ipython())  # a kernel's frontend may take no input
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except (OSError, AttributeError):
        pass
    else:
        os.close(fd)
        return True
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _refused() -> UsageError:
    from ..api.auth import TOKEN_ENV

    empty = TOKEN_ENV in os.environ and not os.environ[TOKEN_ENV].strip()
    found = f"${TOKEN_ENV} is set but empty" if empty else "no Puter token found"
    return UsageError(
        f"{found}, and there is no way to ask for one here: set {TOKEN_ENV} to your token, use "
        "--token-env NAME or --browser, or try %puter_login --sandbox"
    )


def check_can_prompt() -> None:
    """Refuse, in one line, where no masked prompt is possible (before anything is sent)."""
    if not _can_prompt():
        raise _refused()


def prompt_token(origin: str) -> str:
    """Ask for the token with a masked prompt (refused, in one line, where none is possible)."""
    import getpass

    from ..api.auth import TOKEN_ENV

    check_can_prompt()
    refused = _refused()
    empty = TOKEN_ENV in os.environ and not os.environ[TOKEN_ENV].strip()
    note = f"; ${TOKEN_ENV} is empty" if empty else ""
    try:
        token = getpass.getpass(f"Puter token for {origin} (input hidden{note}): ")
    except (StdinNotImplementedError, EOFError, OSError):
        raise refused from None
    if not token.strip():
        raise UsageError("no token entered")
    return token.strip()


# -- the allowance ----------------------------------------------------------------------------------

APP_ONLY = (
    "this token (from the sign-in popup) sees only this app's usage; the allowance and what is "
    "left are the account's"
)


@dataclass
class AllowanceView:
    """``Puter account: $0.48 of $0.50 left this month ($0.02 used)``, with a bar."""

    allowance: Allowance
    gui: str  # where the account adds credit: puter.com, or a self-hosted GUI

    def lines(self) -> list[str]:
        a = self.allowance
        out = [f"Puter account: {a.summary()}."]
        if a.purchased:
            out.append(f"Purchased credit left: {a.amount(a.purchased)}.")
        if a.remaining <= 0:
            out.append(f"Nothing is left: add credit at {self.gui}, or wait for next month's allowance.")
        if a.app_only:
            out.append(APP_ONLY[0].upper() + APP_ONLY[1:] + ".")
        return out

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        a = self.allowance
        lines = self.lines()
        share = 0.0 if a.allowance <= 0 else max(0.0, min(1.0, a.remaining / a.allowance))
        bar = (
            '<div style="height: 6px; width: 240px; background: rgba(127,127,127,0.25); border-radius: 3px; '
            f'margin: 4px 0" title="{share:.0%} left"><div style="height: 6px; width: {share * 100:.1f}%; '
            'background: var(--jp-brand-color1, #0369a1); border-radius: 3px"></div></div>'
        )
        head = f"<div><strong>{html.escape(lines[0])}</strong></div>"
        rest = "".join(f'<div style="{MUTED}">{html.escape(line)}</div>' for line in lines[1:])
        return {
            "text/plain": "\n".join(lines),
            "text/html": f'<div class="puter-allowance {NOT_MATH}">{head}{bar}{rest}</div>',
        }

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


def batch_note(allowance: Allowance | None, meter: UsageMeter, model: str, count: int) -> Note | None:
    """A note when *count* more replies would likely cost more than the allowance left, from
    what this notebook's replies cost so far (this model's, else all); None when they would
    not, or when it cannot be told (no allowance read, no reply priced yet, credits)."""
    if allowance is None or count <= 0:
        return None
    per_reply = meter.average_cents(model)
    if per_reply is None:
        per_reply = meter.average_cents()
    if per_reply is None or per_reply <= 0:
        return None
    likely = per_reply * count * 1_000_000  # cents to microcents
    if allowance.covers(likely) is not False:
        return None
    return Note(
        "This batch may run out of allowance.",
        f"{plural(count, 'prompt')} at about {allowance.amount(per_reply * 1_000_000)} a reply (what "
        f"this notebook's replies cost so far) is about {allowance.amount(likely)}, and Puter says "
        f"{allowance.amount(allowance.remaining)} is left this month. Sending anyway: the batch stops at "
        "the first refusal and a re-run finishes it once there is credit.",
    )
