"""Signing in for %puter_login: where the token comes from, and saying who you are."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError, UsageError

from .rendering import show

if TYPE_CHECKING:
    from .magics import PuterMagics

__all__ = ["login", "prompt_token"]


def login(magics: PuterMagics, args: Any) -> None:
    """%puter_login without --sandbox: find the token, verify it, say who signed in."""
    from .auth import LoginStore, authme_sign_in, token_from_env
    from .origin import parse_origin
    from .rendering import Note

    try:
        origin = parse_origin(args.origin or magics.origin, allow_insecure_http=magics.allow_insecure_http)
    except ValueError as exc:
        raise UsageError(f"%puter_login --origin: {exc}") from None
    store = LoginStore()
    if args.browser:

        def show_link(url: str) -> None:
            show(
                Note(
                    "Sign in to Puter in your browser.",
                    "If no browser opened, open this link:",
                    link=url,
                )
            )

        token = authme_sign_in(origin.gui_url(), timeout=magics.login_timeout, show_link=show_link)
        source = "browser sign-in"
    else:
        found = token_from_env(args.token_env) if args.token_env else token_from_env()
        if args.token_env and found is None:
            state = "is empty" if args.token_env in os.environ else "is not set"
            raise UsageError(f"%puter_login --token-env: ${args.token_env} {state}")
        saved = None if found else store.get(origin.url)
        if found:
            token, source = found.token, found.source
        elif saved:
            token, source = saved.token, "saved login"
        else:
            token, source = prompt_token(origin.url), "prompt"
    magics.session.sign_in(origin.url, token, **magics._client_options())
    saved_note = ""
    if args.save:
        path = store.save(origin.url, token, magics.session.username)
        saved_note = f" Saved for next time in {path}."
    show(
        Note(
            f"Signed in to {origin.url} as {magics.session.username}",
            f"(token from {source}).{saved_note}",
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

    if getattr(getpass.getpass, "__module__", "getpass") != "getpass":
        return True
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


def prompt_token(origin: str) -> str:
    """Ask for the token with a masked prompt (refused, in one line, where none is possible)."""
    import getpass

    from .auth import TOKEN_ENV

    empty = TOKEN_ENV in os.environ and not os.environ[TOKEN_ENV].strip()
    found = f"${TOKEN_ENV} is set but empty" if empty else "no Puter token found"
    refused = UsageError(
        f"{found}, and there is no way to ask for one here: set {TOKEN_ENV} to your token, use "
        "--token-env NAME or --browser, or try %puter_login --sandbox"
    )
    if not _can_prompt():
        raise refused
    note = f"; ${TOKEN_ENV} is empty" if empty else ""
    try:
        token = getpass.getpass(f"Puter token for {origin} (input hidden{note}): ")
    except (StdinNotImplementedError, EOFError, OSError):
        raise refused from None
    if not token.strip():
        raise UsageError("no token entered")
    return token.strip()
