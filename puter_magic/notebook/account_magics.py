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
    "environment variable, --token-env NAME, or %puter_login alone (the sign-in button in a notebook, "
    "a masked prompt in a terminal)"
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
    @argument("--token", help="refused: a token here would be saved in the notebook")
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
        from .signin import SignInFlow, frontend_of

        args = self._parse_login(line)
        host = self.host
        flow = SignInFlow(host.session, host.settings(), show, host.failures, frontend_of(self.shell))
        with host.failures.guard():
            if args.sandbox:
                host.default_model = flow.sandbox()
                return
            flow.login(
                origin=args.origin,
                token_env=args.token_env,
                browser=args.browser,
                save=args.save,
                gui_origin=args.gui_origin,
                guest=not args.no_guest,
                wait=not args.no_wait,
                button=args.button,
                prompt=args.prompt,
            )

    def _parse_login(self, line: str) -> Any:
        if "--token" in line.split() or any(w.startswith("--token=") for w in line.split()):
            raise UsageError(f"%puter_login does not take --token: {SAFE_TOKEN_WAYS}")
        try:
            args = parse_line(self.puter_login, line)
        except UsageError:
            raise UsageError(f"%puter_login: unknown option (see %puter_login?); {SAFE_TOKEN_WAYS}") from None
        if args.extra or args.token:
            raise UsageError(f"%puter_login takes no positional arguments: {SAFE_TOKEN_WAYS}")
        button_only = args.no_guest or args.no_wait or args.button
        if args.sandbox and (
            args.origin
            or args.browser
            or args.token_env
            or args.save
            or args.gui_origin
            or button_only
            or args.prompt
        ):
            raise UsageError("%puter_login --sandbox takes no other options")
        if args.browser and button_only:
            raise UsageError(
                "%puter_login --browser: --button, --no-guest and --no-wait are for the sign-in button"
            )
        if args.button and args.token_env:
            raise UsageError("%puter_login: --button or --token-env, not both")
        if args.prompt and (args.browser or args.token_env or button_only):
            raise UsageError(
                "%puter_login --prompt takes a pasted token: "
                "not with --browser, --token-env, --button, --no-guest or --no-wait"
            )
        return args

    @magic_arguments()
    @argument("--keep", action="store_true", help="sign out of this kernel but keep the saved login")
    @line_magic
    def puter_logout(self, line: str) -> None:
        """Sign out: this kernel forgets the token, the saved login for this origin is
        forgotten (--keep keeps it), an in-kernel sandbox stops. The token itself stays valid
        until it is revoked on Puter's website (Settings → Security → sessions), which the
        output names."""
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
        from .advice import gui_host
        from .allowance import AllowanceView
        from .views import Note

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
