"""%puter_login, %puter_logout and %puter_usage: who you are, and what you spent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .arguments import parse_line
from .display import show

if TYPE_CHECKING:
    from .host import Host

__all__ = ["AccountMagics"]

SAFE_TOKEN_WAYS = (
    "a token on the magic's line would be saved in the notebook; use the PUTER_AUTH_TOKEN "
    "environment variable, --token-env NAME, --browser, or %puter_login alone for a masked prompt"
)


@magics_class
class AccountMagics(Magics):
    """``%puter_login``, ``%puter_logout``, ``%puter_usage``."""

    def __init__(self, shell: Any, *, host: Host) -> None:
        super().__init__(shell)
        self.host = host

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
        from .signin import SignInFlow

        args = self._parse_login(line)
        flow = SignInFlow(self.host.session, self.host.settings(), show)
        with self.host.failures.guard():
            if args.sandbox:
                self.host.default_model = flow.sandbox()
                return
            flow.login(origin=args.origin, token_env=args.token_env, browser=args.browser, save=args.save)

    def _parse_login(self, line: str) -> Any:
        if "--token" in line.split() or any(w.startswith("--token=") for w in line.split()):
            raise UsageError(f"%puter_login does not take --token: {SAFE_TOKEN_WAYS}")
        try:
            args = parse_line(self.puter_login, line)
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
        args = parse_line(self.puter_logout, line)
        from ..api.auth import LoginStore
        from .rendering import Note

        origin = self.host.session.origin
        forgot = False if args.keep or origin is None else LoginStore().forget(origin)
        was_sandbox = self.host.session.sandbox is not None
        self.host.session.close()
        what = f"Signed out of {origin}." if origin else "Not signed in."
        detail = "Saved login forgotten." if forgot else ("Sandbox stopped." if was_sandbox else "")
        show(Note(what, detail))

    def _show_allowance(self) -> None:
        """What Puter says of the account this month (read at most once a minute)."""
        from ..api.errors import NotFound
        from .advice import gui_host
        from .allowance import AllowanceView
        from .rendering import Note

        with self.host.failures.guard():
            try:
                allowance = self.host.session.allowance(max_age=60.0)
            except NotFound:  # an older or stripped-down server: no metering routes
                show(Note("Puter account:", "this server does not report an allowance (no /metering/usage)."))
                return
            if allowance is not None:
                show(AllowanceView(allowance, gui_host(self.host.session.origin)))

    @magic_arguments()
    @argument("--reset", action="store_true", help="start counting afresh")
    @line_magic
    def puter_usage(self, line: str) -> None:
        """Tokens and cost per model used by this notebook (cost where the server reports it),
        and what Puter says of the account this month: its allowance, used and left."""
        args = parse_line(self.puter_usage, line)
        meter = self.host.session.meter
        if args.reset:
            from .rendering import Note

            meter.reset()
            show(Note("Usage meter reset."))
            return
        from .tables import UsageTable

        show(UsageTable(meter))
        budget = self.host.settings().budget_usd_cents
        if budget is not None:
            from .rendering import Note

            left = budget - meter.spent_cents
            show(Note(f"Budget: {budget:g}¢", f"{max(left, 0):.4g}¢ left."))
        self._show_allowance()  # the notebook's own figures first, then the account's
