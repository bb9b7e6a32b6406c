"""What a user sees: replies, notes and warnings as display objects.

Each object has ``_repr_mimebundle_`` with ``text/plain`` (terminal IPython, logs) and
rich forms for notebooks. Nothing here imports IPython: frontends call the repr methods,
and the magics hand these objects to ``display``. Model text only reaches HTML through
:mod:`puter_magic.markup`; everything else is escaped here.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..api.errors import (
    AuthError,
    BadRequest,
    BudgetExceeded,
    MalformedResponse,
    ModelNotFound,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    PuterConnectionError,
    PuterError,
    PuterTimeout,
    RateLimited,
    RedirectRefused,
    ServerError,
    StreamError,
    UsageLimited,
)
from ..api.protocol import total_tokens
from ..api.words import plural
from .bounds import MAX_DISPLAY_CHARS, cut_text, left_out_note

__all__ = ["Note", "PartialReply", "ReplyView", "WarningBox", "describe_error", "footer_text"]

Bundle = dict[str, str]

MUTED = "color: var(--jp-ui-font-color2, #6b7280); font-size: 0.85em"
BOX = (
    "border-left: 4px solid {border}; background: {background}; padding: 8px 12px; "
    "margin: 4px 0; border-radius: 4px; color: var(--jp-content-font-color1, inherit); "
    "font-family: var(--jp-ui-font-family, system-ui, sans-serif); line-height: 1.45"
)
WARN_STYLE = BOX.format(border="var(--jp-warn-color0, #b45309)", background="rgba(245, 158, 11, 0.12)")
NOTE_STYLE = BOX.format(border="var(--jp-info-color0, #0369a1)", background="rgba(14, 165, 233, 0.10)")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def footer_text(
    model: str | None,
    usage: dict[str, Any] | None,
    elapsed: float | None,
    extra: list[str] | None = None,
) -> str:
    """``sandbox-tutor · 1,234 tokens · 0.3¢ · 2.1 s``

    A usage with no token counts (Puter's streamed usage line from some providers is only
    ``{"usd_cents": null}``) says "tokens not reported" rather than leaving them out.
    """
    parts = []
    if model:
        parts.append(model)
    tokens = total_tokens(usage or {})
    parts.append(plural(tokens, "token") if tokens is not None else "tokens not reported")
    cents = (usage or {}).get("usd_cents")
    if isinstance(cents, (int, float)) and not isinstance(cents, bool) and cents > 0:
        parts.append(f"{cents:.3g}¢")
    if elapsed is not None:
        parts.append(f"{elapsed:.1f} s")
    parts.extend(extra or [])
    return " · ".join(parts)


@dataclass
class ReplyView:
    """A finished (or interrupted) reply: Markdown rendered safely, and a quiet footer."""

    text: str
    model: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    elapsed: float | None = None
    notes: list[str] = field(default_factory=list)
    reasoning: str = ""
    interrupted: bool = False
    raw: bool = False
    show_footer: bool = True
    images: list[dict[str, Any]] = field(default_factory=list)  # message.images / image chunks
    limit: int = MAX_DISPLAY_CHARS  # the most characters of the text displayed
    where: str = ""  # where the whole text is, for the note when the display is cut

    def footer(self) -> str:
        extra = ["interrupted"] if self.interrupted else []
        return footer_text(self.model, self.usage, self.elapsed, extra) if self.show_footer else ""

    def tail_lines(self) -> list[str]:
        """The quiet lines under the text: what was left out, the footer, the notes."""
        cut = cut_text(self.text, self.limit)
        left_out = left_out_note(cut, self.where) if cut.cut else ""
        return [n for n in [left_out, self.footer(), *self.notes] if n]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        from . import markup

        shown = cut_text(self.text, self.limit).shown
        lines = self.tail_lines()
        plain = shown.rstrip()
        if self.interrupted:
            plain += " … (interrupted)"
        pics_plain = pics_html = pics_md = ""
        if self.images:
            from .reply_images import image_parts

            pics_plain, pics_html, pics_md = image_parts(self.images)
            plain += "\n\n" + pics_plain
        tail = "\n".join(lines)
        bundle: Bundle = {"text/plain": plain + (f"\n\n{tail}" if tail else "")}
        foot_html = "".join(
            f'<div class="puter-footer" style="{MUTED}; margin-top: 6px">{_esc(n)}</div>' for n in lines
        )
        mark = f' <span style="{MUTED}">(interrupted)</span>' if self.interrupted else ""
        thinking = ""
        if self.reasoning:
            reasoning = cut_text(self.reasoning, self.limit)
            more = f"\n{left_out_note(reasoning)}" if reasoning.cut else ""
            thinking = (
                f'<details class="puter-reasoning" style="{MUTED}; margin-bottom: 6px">'
                f"<summary>Reasoning</summary><div style='white-space: pre-wrap'>"
                f"{_esc(reasoning.shown + more)}</div></details>"
            )
        if self.raw:
            body = f'<pre style="white-space: pre-wrap">{_esc(shown)}</pre>'
            bundle["text/html"] = (
                f'<div class="puter-reply">{thinking}{body}{pics_html}{mark}{foot_html}</div>'
            )
            return bundle
        md_tail = "".join(f'\n\n<span style="{MUTED}">{_esc(n)}</span>' for n in lines)
        interrupted_md = f'\n\n<span style="{MUTED}">(interrupted)</span>' if self.interrupted else ""
        pics_md = f"\n\n{pics_md}" if pics_md else ""
        bundle["text/markdown"] = markup.safe_markdown(shown) + pics_md + interrupted_md + md_tail
        bundle["text/html"] = (
            f'<div class="puter-reply">{thinking}{markup.to_html(shown)}{pics_html}{mark}{foot_html}</div>'
        )
        return bundle

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"] if self.raw else f"ReplyView({self.text[:60]!r}…)"


@dataclass
class PartialReply:
    """A reply while it streams: cheap to build, so updates stay linear in the text."""

    text: str = ""
    elapsed: float = 0.0
    reasoning_chars: int = 0
    limit: int = MAX_DISPLAY_CHARS  # the most characters of the text displayed

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        from . import markup

        if not self.text:
            label = f"thinking… {self.elapsed:.1f} s"
            if self.reasoning_chars:
                label = f"reasoning… {self.elapsed:.1f} s"
            return {
                "text/plain": label,
                "text/html": f'<div class="puter-thinking" style="{MUTED}">{_esc(label)}</div>',
            }
        # While streaming, text/plain is an excerpt (frontends show the Markdown; terminals
        # print the text themselves); the final rendering carries all of it.
        tail = self.text if len(self.text) <= 2000 else "…" + self.text[-2000:]
        cut = cut_text(self.text, self.limit)
        if not cut.cut:
            return {"text/plain": tail, "text/markdown": markup.safe_markdown(self.text) + " ▍"}
        # Past the bound the display stops growing: the first part stays, and a line
        # counts what is still arriving.
        so_far = (
            f"… receiving: {cut.total:,} characters so far; the first {cut.total - cut.left_out:,} "
            "are shown here"
        )
        return {
            "text/plain": tail,
            "text/markdown": markup.safe_markdown(cut.shown) + f'\n\n<span style="{MUTED}">{so_far} ▍</span>',
        }


@dataclass
class Note:
    """A short styled note (signed in, thread reset...)."""

    title: str
    message: str = ""
    code: str | None = None  # a command to show as code
    link: str | None = None  # a URL to show as a link

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        plain = self.title + (f" {self.message}" if self.message else "")
        if self.code:
            plain += f" ({self.code})"
        if self.link:
            plain += f"\n{self.link}"
        body = f"<strong>{_esc(self.title)}</strong>"
        if self.message:
            body += f" {_esc(self.message)}"
        if self.code:
            body += f" <code>{_esc(self.code)}</code>"
        if self.link:
            link = _esc(self.link)
            body += f'<div><a href="{link}" target="_blank" rel="noopener">{link}</a></div>'
        return {
            "text/plain": plain,
            "text/html": f'<div class="puter-note" style="{NOTE_STYLE}">{body}</div>',
        }

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


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


def describe_error(err: BaseException, origin: str | None = None) -> tuple[str, str]:
    """A short title by kind, and the next action, for a failure.

    The error's origin (else *origin*, the one in use) names the server, so that hints
    send a self-hosted user to that server's own pages, not to puter.com. A hint the
    error carries (its raiser knew the cause) replaces the kind's.
    """
    title, hint = _describe(err, getattr(err, "origin", None) or origin)
    own = getattr(err, "hint", None)
    return title, (own if isinstance(own, str) and own else hint)


def _describe(err: BaseException, origin: str | None) -> tuple[str, str]:
    gui = gui_host(origin)
    if type(err).__name__ == "ReplayMiss":
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
        return "Rate limited", f"{wait} (a free account may send 30 requests per 10 s, 3 at once)"
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
    if isinstance(err, NotFound):
        return (
            "Puter error",
            "check the origin: %puter_login --origin URL (a self-hosted API lives on api.<domain>)",
        )
    if isinstance(err, StreamError):
        return (
            "Reply broke off",
            "run the cell again; if it keeps failing, pick another model with %puter_models",
        )
    if isinstance(err, BadRequest):
        return "Puter error", "check this cell's options (%%puter?)"
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
    def from_error(cls, err: PuterError, hint: str | None = None, origin: str | None = None) -> WarningBox:
        title, default_hint = describe_error(err, origin)
        return cls(title, err.message, hint or default_hint, err.code, err.status, dict(err.detail))

    def _where(self) -> str:
        bits = [b for b in (self.code, f"HTTP {self.status}" if self.status else None) if b]
        return ", ".join(bits)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        where = self._where()
        plain = f"Puter: {self.title.lower()}" + (f" ({where})" if where else "") + f": {self.message}"
        plain += f"\nNext: {self.hint}"
        body = (
            f'<div style="font-weight: 600">⚠ {_esc(self.title)}</div>'
            f"<div>{_esc(self.message)}"
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
        html_text = f'<div class="puter-warning" role="alert" style="{WARN_STYLE}">{body}</div>'
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
