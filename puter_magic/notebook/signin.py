"""Signing in for %puter_login: where the token comes from, and saying who you are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError, UsageError

from .rendering import show

if TYPE_CHECKING:
    from .magics import PuterMagics

__all__ = ["login", "prompt_token"]


def login(magics: PuterMagics, args: Any) -> None:
    """%puter_login without --sandbox: find the token, verify it, say who signed in."""
    from ..api.auth import LoginStore, authme_sign_in, token_from_env
    from ..api.origin import parse_origin
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
            raise UsageError(f"%puter_login --token-env: ${args.token_env} is not set")
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


def prompt_token(origin: str) -> str:
    """Ask for the token with a masked prompt (refused where no stdin exists)."""
    import getpass

    try:
        token = getpass.getpass(f"Puter token for {origin} (input hidden): ")
    except (StdinNotImplementedError, EOFError, OSError):
        raise UsageError(
            "no Puter token found and no way to ask for one here: set PUTER_AUTH_TOKEN, use "
            "--token-env NAME or --browser, or try %puter_login --sandbox"
        ) from None
    if not token.strip():
        raise UsageError("no token entered")
    return token.strip()
