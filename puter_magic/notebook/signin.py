"""Signing in for %puter_login: where the token comes from, and saying who you are.

:class:`SignInFlow` is a plain object the magics own; it gets the session, a snapshot of
the settings and a display function.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError, UsageError

if TYPE_CHECKING:
    from .session import PuterSession
    from .settings import Settings

__all__ = ["SignInFlow", "prompt_token"]

BROWSER_CANNOT_LISTEN = (
    "%puter_login --browser needs a listener on this machine, which Python in a web page "
    "(JupyterLite) cannot open: use the Sign in with Puter button, or paste a token at the prompt"
)


class SignInFlow:
    def __init__(self, session: PuterSession, settings: Settings, display: Callable[..., Any]) -> None:
        self.session = session
        self.settings = settings
        self.display = display

    def sandbox(self) -> str:
        """Start the in-kernel sandbox, sign in to it; the default model it sets."""
        from .rendering import Note

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

    def login(self, *, origin: str | None, token_env: str | None, browser: bool, save: bool) -> None:
        """Find the token, verify it, say who signed in."""
        from ..api import runtime
        from ..api.auth import LoginStore, authme_sign_in, token_from_env
        from ..api.origin import parse_origin
        from .rendering import Note

        settings = self.settings
        try:
            where = parse_origin(origin or settings.origin, allow_insecure_http=settings.allow_insecure_http)
        except ValueError as exc:
            raise UsageError(f"%puter_login --origin: {exc}") from None
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

            token = authme_sign_in(where.gui_url(), timeout=settings.login_timeout, show_link=show_link)
            source = "browser sign-in"
        else:
            found = token_from_env(token_env) if token_env else token_from_env()
            if token_env and found is None:
                state = "is empty" if token_env in os.environ else "is not set"
                raise UsageError(f"%puter_login --token-env: ${token_env} {state}")
            saved = None if found else store.get(where.url)
            if found:
                token, source = found.token, found.source
            elif saved:
                token, source = saved.token, "saved login"
            else:
                check_can_prompt()
                self._reachable(where.url)  # never ask for a token a server that is not there
                token, source = prompt_token(where.url), "prompt"
        self.session.sign_in(where.url, token, **settings.client_options)
        saved_note = ""
        if save:
            path = store.save(where.url, token, self.session.username)
            saved_note = f" Saved for next time in {path}."
        self.display(
            Note(
                f"Signed in to {where.url} as {self.session.username}", f"(token from {source}).{saved_note}"
            )
        )


def _can_prompt() -> bool:
    """Whether a masked prompt can be shown here without noise.

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

        kernel = getattr(get_ipython(), "kernel", None)  # its frontend may take no input
        return getattr(kernel, "_allow_stdin", True) is not False
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
