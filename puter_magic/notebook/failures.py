"""A Puter failure in a notebook: its title and next step by kind, its one warning box, and
the one place that decides whether it is shown or raised.

A :class:`~puter_magic.api.errors.PuterError` is shown as one warning (in the cell's own output
when it has one) and changes nothing; with ``raise_errors`` (notebooks run as pipelines) it is
raised instead. Anything else is a bug and propagates untouched. :func:`describe_error` picks
the title and the next action from the error's class (its kind) and code; hints name the server
in use, so a self-hosted user is sent to that server's own pages rather than puter.com.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..api.account import Allowance
from ..api.chat import cannot_search
from ..api.errors import (
    AuthError,
    BadRequest,
    BudgetExceeded,
    Hint,
    MalformedResponse,
    ModelNotFound,
    NotConfigured,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    PuterConnectionError,
    PuterError,
    PuterTimeout,
    RateLimited,
    RedirectRefused,
    ReplayMiss,
    ServerError,
    StreamError,
    UsageLimited,
)
from .views import MUTED, NOT_MATH, WARN_STYLE, Bundle

if TYPE_CHECKING:
    from ..api.account import AccountLimits
    from ..api.models import ModelInfo

__all__ = [
    "Failures",
    "Placed",
    "WarningBox",
    "describe_error",
    "gui_host",
    "hint_words",
    "limits_words",
    "out_of_allowance",
]

# -- warn or raise ----------------------------------------------------------------------------------


class Placed(Protocol):
    """An output a warning can take the place of (a cell's live output)."""

    def replace(self, obj: Any) -> None: ...


class Failures:
    def __init__(
        self,
        raise_errors: Callable[[], bool],
        display: Callable[[Any], Any],
        origin: Callable[[], str | None] = lambda: None,
        allowance: Callable[[], Allowance | None] = lambda: None,
        limited: Callable[[], bool] = lambda: False,
        limits: Callable[[], AccountLimits | None] = lambda: None,
        catalogue: Callable[[], Sequence[ModelInfo] | None] = lambda: None,
    ) -> None:
        self._raise_errors = raise_errors
        self._display = display
        self._origin = origin  # the server in use, so hints name it (self-hosted or not)
        self._limits = limits  # the account's limits, so a 429's hint names them
        self._allowance = allowance  # what is left, read when a warning is about running out
        self._limited = limited  # whether a reply said usage_limited since last asked (and forget it)
        self._warned_limit = False  # this cell already showed the out-of-allowance warning
        self._catalogue = catalogue  # the server's models, so "Model not found" can suggest one

    @property
    def raising(self) -> bool:
        """Failures are raised (``raise_errors``), not shown as warnings."""
        return self._raise_errors()

    def warning(self, err: PuterError, magic: str | None = None) -> Any:
        """The one warning for *err* (running out of allowance names what is left; in the
        words of *magic*, the one that failed)."""

        left = None
        if isinstance(err, ModelNotFound) and err.hint is None and magic is None:  # a chat model:
            models = self._catalogue()  # the catalogue lists chat models, not media ones
            if models:
                from ..api.models import suggest_models

                suggest_models(err, models)
        if out_of_allowance(err):
            self._warned_limit = True
            self._limited()  # the reply's usage_limited flag is told by this same warning
            try:
                left = self._allowance()
            except PuterError:
                left = None
        return WarningBox.from_error(
            err, origin=self._origin(), allowance=left, limits=self._limits(), magic=magic
        )

    def after_cell(self) -> None:
        """After a cell: one warning if a reply said the allowance is used up
        (``metadata.usage_limited``) and the cell did not already warn of it. Shown, never
        raised: the replies themselves arrived."""
        seen = self._limited()
        warned, self._warned_limit = self._warned_limit, False
        if seen and not warned:
            err = UsageLimited(
                "a reply said this account's allowance is used up; Puter will likely refuse what comes next",
                code="usage_limited",
            )
            self._display(self.warning(err))
            self._warned_limit = False

    def report(self, err: PuterError, where: Placed | None = None, *, magic: str | None = None) -> None:
        """Raise *err* (``raise_errors``) or show it as one warning, in *where* if given."""
        if self._raise_errors():
            raise err
        box = self.warning(err, magic)
        if where is not None:
            where.replace(box)
        else:
            self._display(box)

    @contextlib.contextmanager
    def guard(self, where: Placed | None = None, *, magic: str | None = None) -> Iterator[None]:
        """Report a PuterError raised inside the block (see :meth:`report`)."""
        try:
            yield
        except PuterError as err:
            self.report(err, where, magic=magic)


# -- what a failure says ----------------------------------------------------------------------------

# The magics whose --test gets Puter's free sample even from a server without provider keys
# (protocol doc §13): OCR, speech-to-text and speech-to-speech.
FREE_SAMPLE = ("%puter_ocr", "%puter_transcribe", "%puter_voice")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def gui_host(origin: str | None) -> str:
    """Where a person signs in and verifies the account for an API *origin*: ``puter.com``,
    or a self-hosted server's own GUI host (``http://puter.localhost:4100``)."""
    from ..api.origin import DEFAULT_GUI_ORIGIN, parse_origin

    if not origin:
        return "puter.com"
    try:
        gui = parse_origin(origin, allow_insecure_http=True).gui_url()
    except ValueError:
        return "puter.com"
    return "puter.com" if gui == DEFAULT_GUI_ORIGIN else gui


# 403 verification gates: Puter refuses before doing any work, one step at a time, so the
# request is safe to send again once the step is done (puter-protocol.md §10).
VERIFICATION_STEPS = {
    "email_confirmation_required": ("Email not confirmed", "confirm your email at {gui}"),
    "phone_verification_required": ("Phone not verified", "verify your phone number at {gui}"),
    "card_verification_required": ("Card not verified", "verify a payment card at {gui}"),
}
# 401 codes for a token the server does not take at all (never valid, mistyped, retired).
TOKEN_REFUSED = ("token_auth_failed", "token_invalid")


def _auth(err: AuthError, gui: str) -> tuple[str, str]:
    reason = err.detail.get("reason")
    again = f"run %puter_login again (--browser signs in through {gui})"
    if err.code in TOKEN_REFUSED or (err.code == "reauth_required" and reason == "token_v1"):
        return "Token not accepted", (
            "the server does not take this token (mistyped, revoked, or an older kind of Puter token); "
            f"get a new one: %puter_login --browser signs in through {gui}"
        )
    if reason == "session_revoked":
        return "Sign-in revoked", again
    if err.code == "reauth_required" or reason == "session_expired":
        return "Sign-in expired", again
    return "Sign-in not accepted", again


def limits_words(limits: AccountLimits) -> str:
    """``a guest account may send 20 requests per 10 s, 2 at once``"""
    numbers = f"{limits.rate} requests per {limits.window:g} s, {limits.concurrency} at once"
    whose = {"guest": "a guest account", "free": "a free account", "paid": "a paid plan"}
    if limits.tier in whose:
        return f"{whose[limits.tier]} may send {numbers}"
    return f"the limits in use: {numbers}"


def out_of_allowance(err: BaseException) -> bool:
    """A 402, an ``insufficient_funds`` (also on a stream's error line), or a reply that said
    ``usage_limited``: the account's allowance is used up."""
    code = getattr(err, "code", None)
    if isinstance(err, UsageLimited) and code != "subscription_required":
        return True
    return isinstance(err, PuterError) and code in ("insufficient_funds", "usage_limited")


def _allowance_advice(allowance: Allowance | None, gui: str, guest: bool = False) -> str:
    left = f"Puter says {allowance.summary()}" if allowance is not None else "Puter did not say what is left"
    if allowance is not None and allowance.app_only:
        left += " (the account's, though this sign-in sees only this app's usage)"
    if guest:
        return (
            f"{left}; this is a temporary guest account, with a guest's small allowance: to keep it and "
            f"get a registered account's allowance, sign up at {gui} in the browser you signed in with, "
            "then %puter_login again; or wait for next month's allowance (%puter_usage shows it)"
        )
    return f"{left}; add credit at {gui}, or wait for next month's allowance (%puter_usage shows it)"


def describe_error(
    err: BaseException,
    origin: str | None = None,
    allowance: Allowance | None = None,
    *,
    limits: AccountLimits | None = None,
    magic: str | None = None,
) -> tuple[str, str]:
    """A short title by kind, and the next action, for a failure.

    The error's origin (else *origin*, the one in use) names the server, so that hints
    send a self-hosted user to that server's own pages, not to puter.com. A hint the
    error carries (its raiser knew the cause) replaces the kind's. *allowance* (what Puter
    says is left, when known) is named in an out-of-allowance warning. *limits* are the
    limits in use (a 429's hint names them; default: a free account's; a guest's also tell
    an out-of-allowance warning to say how to keep the account), *magic* the magic that
    failed (``%%puter_speak``: its own help, its own ``--test``).
    """
    where = getattr(err, "origin", None) or origin
    if out_of_allowance(err):
        guest = limits is not None and limits.tier == "guest"
        return "Out of allowance", _allowance_advice(allowance, gui_host(where), guest)
    if cannot_search(err):
        return "No web search for this model", (
            "web search works with OpenAI's models (Puter's Responses provider): pick one with -m "
            "(see %puter_models), or ask without --web"
        )
    title, hint = _describe(err, where, limits, magic)
    own = hint_words(err) if isinstance(err, PuterError) else None
    return title, (own or hint)


def hint_words(err: PuterError) -> str | None:
    """The next step an error's :class:`~puter_magic.api.errors.Hint` says, in words (None: no hint)."""
    if err.hint is Hint.PLAIN_HTTP:
        return (
            f"if it is a plain-http server, use %puter_login --origin {err.hint_origin}; "
            "otherwise check the port"
        )
    if err.hint is Hint.API_ORIGIN:
        if err.hint_origin:
            return f"use the API host: %puter_login --origin {err.hint_origin}"
        return (
            "use Puter's API origin: %puter_login --origin URL (https://api.puter.com; "
            "a self-hosted API lives on api.<domain>, e.g. http://api.puter.localhost:4100)"
        )
    if err.hint is Hint.MEDIA_MISLABELLED:
        return (
            "the server sent something other than what it announced: run the cell again, "
            "or pick another model"
        )
    if err.hint is Hint.MEDIA_UNUSABLE:
        return "the reply arrived but its media could not be used: run the cell again, or pick another model"
    if err.hint is Hint.MEDIA_URL_NOT_FETCHED:
        return "open the URL yourself if you trust it; nothing of it was downloaded here"
    if err.hint is Hint.CLOSE_MODELS and err.hint_names:
        names = " or ".join(err.hint_names)
        return f"did you mean {names}? (-m {err.hint_names[0]}), or pick another model with %puter_models"
    return None


def _describe(
    err: BaseException, origin: str | None, limits: AccountLimits | None, magic: str | None
) -> tuple[str, str]:
    gui = gui_host(origin)
    if isinstance(err, ReplayMiss):
        return "Not in the recording", (
            "record it again with %puter_record FILE, or ask the network for what is missing "
            "with %puter_replay FILE --fallthrough"
        )
    if isinstance(err, BudgetExceeded):
        return "Budget reached", "see %puter_usage; raise it with %config PuterMagics.budget_usd_cents = 100"
    if isinstance(err, NotSignedIn) or (isinstance(err, AuthError) and err.code == "token_missing"):
        return "Not signed in", "run %puter_login (or %puter_login --sandbox to try offline)"
    if isinstance(err, AuthError):
        return _auth(err, gui)
    if isinstance(err, UsageLimited):
        return (
            "Usage limit reached",
            "check your Puter plan, or try the sandbox with %puter_login --sandbox",
        )
    if isinstance(err, RateLimited):
        wait = (
            f"try again in {err.retry_after:.0f} s"
            if err.retry_after
            else "wait a few seconds and run the cell again"
        )
        from ..api.account import FREE

        return "Rate limited", f"{wait} ({limits_words(limits or FREE)})"
    if isinstance(err, ModelNotFound):
        return "Model not found", "pick another model with %puter_models"
    if isinstance(err, PermissionDenied):
        if err.code in VERIFICATION_STEPS:
            title, step = VERIFICATION_STEPS[err.code]
            return title, (
                f"{step.format(gui=gui)}, then run the cell again (Puter refused before doing any "
                "work, so sending it again is safe)"
            )
        if err.code and err.code.endswith("_required"):
            return (
                "Permission denied",
                f"finish the verification Puter asks for at {gui}, then run the cell again",
            )
        return (
            "Permission denied",
            "pick another model with %puter_models, or sign in with a full-access token",
        )
    if isinstance(err, NotFound) and err.about_route:
        return (
            "Puter error",
            "check the origin: %puter_login --origin URL (a self-hosted API lives on api.<domain>)",
        )
    if isinstance(err, NotFound):  # Puter answered: what the cell names does not exist there
        names = "the interface, method and arguments" if magic == "%puter_call" else "the names"
        return "Not found", f"Puter has no such thing: check {names} in the cell" + (
            f" ({magic}?)" if magic else ""
        )
    if isinstance(err, StreamError):
        return (
            "Reply broke off",
            "run the cell again; if it keeps failing, pick another model with %puter_models",
        )
    if isinstance(err, BadRequest):
        return "Puter error", f"check this cell's options ({magic or '%%puter'}?)"
    if isinstance(err, NotConfigured):
        sample = (
            f"; {magic} --test answers with Puter's free sample meanwhile" if magic in FREE_SAMPLE else ""
        )
        return "Not set up on this server", (
            "this Puter server has no provider for it, so running the cell again will not help; "
            f"whoever runs the server can add one (a provider key in its config){sample}"
        )
    if isinstance(err, ServerError):
        return "Puter error", "Puter had a problem; run the cell again in a moment"
    if isinstance(err, PuterTimeout):
        return (
            "Timeout",
            "run the cell again; allow longer with %config PuterMagics.read_timeout = 300",
        )
    if isinstance(err, RedirectRefused):
        return "Network error", "check the origin: %puter_login --origin URL"
    if isinstance(err, PuterConnectionError):
        return "Network error", "check your connection and the origin (%puter_login --origin URL)"
    if isinstance(err, MalformedResponse):
        return (
            "Puter error",
            "the server's reply was not Puter's; check the origin (%puter_login --origin URL)",
        )
    return "Puter error", "run the cell again"


@dataclass
class WarningBox:
    """One styled warning for one failure: title, Puter's code and message, next action."""

    title: str
    message: str
    hint: str
    code: str | None = None
    status: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_error(
        cls,
        err: PuterError,
        hint: str | None = None,
        origin: str | None = None,
        allowance: Allowance | None = None,
        *,
        limits: AccountLimits | None = None,
        magic: str | None = None,
    ) -> WarningBox:
        title, default_hint = describe_error(err, origin, allowance, limits=limits, magic=magic)
        return cls(title, err.message, hint or default_hint, err.code, err.status, dict(err.detail))

    def _where(self) -> str:
        bits = [b for b in (self.code, f"HTTP {self.status}" if self.status else None) if b]
        return ", ".join(bits)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        where = self._where()
        message = self.message
        plain = f"Puter: {self.title.lower()}" + (f" ({where})" if where else "") + f": {message}"
        plain += f"\nNext: {self.hint}"
        body = (
            f'<div style="font-weight: 600">⚠ {_esc(self.title)}</div>'
            f"<div>{_esc(message)}"
            + (f' <span style="{MUTED}">({_esc(where)})</span>' if where else "")
            + "</div>"
            f'<div style="margin-top: 4px">Next: {_code_commands(self.hint)}</div>'
        )
        if self.detail:
            import json

            raw = json.dumps(self.detail, indent=2, default=str)[:2000]
            body += (
                f'<details style="{MUTED}; margin-top: 4px"><summary>Details</summary>'
                f"<pre>{_esc(raw)}</pre></details>"
            )
        html_text = f'<div class="puter-warning {NOT_MATH}" role="alert" style="{WARN_STYLE}">{body}</div>'
        return {"text/plain": plain, "text/html": html_text}

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


def _code_commands(hint: str) -> str:
    """Escape a hint, showing ``%magic ...`` commands as code the user can copy."""
    import re

    out = []
    pos = 0
    for match in re.finditer(
        r"%config [\w.]+ = \d+|%%?[a-z_]+(?: --?[a-z][\w-]*(?: (?:URL|[A-Z]+\b|\d+|https?://[^\s,;()]+))?)*",
        hint,
    ):
        out.append(_esc(hint[pos : match.start()]))
        out.append(f"<code>{_esc(match.group(0))}</code>")
        pos = match.end()
    out.append(_esc(hint[pos:]))
    return "".join(out)
