"""The account's monthly allowance in a notebook: what ``%puter_usage`` shows of it, and the
note before a ``--each`` batch that would likely spend more than is left.

The allowance is Puter's (``GET /metering/usage``, read through
:meth:`~puter_magic.notebook.session.PuterSession.allowance` at most once a minute); what a
reply costs is the notebook's own meter. Out-of-allowance failures are worded with the rest
of the failures (:mod:`.advice`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..api.account import Allowance
from ..api.humanize import plural
from ..api.usage import UsageMeter
from .rendering import MUTED, Note

__all__ = ["APP_ONLY", "AllowanceView", "batch_note"]

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
            "text/html": f'<div class="puter-allowance">{head}{bar}{rest}</div>',
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
