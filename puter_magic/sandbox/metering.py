"""The sandbox's monthly allowance and what its accounts spent, answered as Puter's metering
routes answer (protocol doc §9 and §14; ``extensions/metering.ts`` in Puter's source).

- ``GET /metering/usage``: ``{usage: {total, allowanceUsed, "<type>": {cost, count, units}},
  appTotals, allowanceInfo: {monthUsageAllowance, remaining, addons}}``, amounts in
  microcents (1 USD = 100,000,000 µ¢), or in credits with ``unit: "credits"`` when the
  sandbox has a credit multiplier. An app token (the sign-in popup's) sees its own app's
  total and everything else summed as ``others``, as Puter shows it.
- ``GET /metering/usage/<app>``: one app's usage (an unknown name: 404 without a ``code``).
- ``GET /metering/allCosts``: the price of every usage type the sandbox meters.

Every account has the open-source defaults' allowance: $0.50 for a registered account, $0.25
for a guest (a temporary account). A call made once nothing is left answers 402
``insufficient_funds``; the reply that spends the last of it says ``metadata.usage_limited``.

This is the ledger of money, per account and app; how many calls pass, how fast and how many
at once, is the gates' (:mod:`.limits`), which a call meets first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .models import MODELS

__all__ = ["FREE_ALLOWANCE", "GUEST_ALLOWANCE", "Account", "Metering"]

FREE_ALLOWANCE = 50_000_000  # µ¢: $0.50 a month
GUEST_ALLOWANCE = 25_000_000  # µ¢: $0.25 a month
GLOBAL_APP = "os-global"
# What the media interfaces cost in the sandbox, in µ¢ (chat costs what its usage says).
MEDIA_COSTS = {
    ("puter-image-generation", "generate"): ("sandbox:sandbox-image:image", 400_000),
    ("puter-tts", "synthesize"): ("sandbox:sandbox-tts:character", 1_500),
    ("puter-speech2txt", "transcribe"): ("sandbox:sandbox-stt:second", 10_000),
    ("puter-speech2txt", "translate"): ("sandbox:sandbox-stt:second", 10_000),
    ("puter-ocr", "recognize"): ("sandbox:sandbox-ocr:page", 150_000),
    ("puter-speech2speech", "convert"): ("sandbox:sandbox-voice:second", 30_000),
    ("puter-video-generation", "generate"): ("sandbox:sandbox-video:second", 1_000_000),
}


@dataclass
class Account:
    """One account's plan and this month's spending (µ¢), by usage type and by app."""

    allowance: float = FREE_ALLOWANCE
    spent: dict[str, list[float]] = field(default_factory=dict)  # type -> [cost, count, units]
    apps: dict[str, list[float]] = field(default_factory=dict)  # app uid -> [total, count]

    @property
    def total(self) -> float:
        return sum(entry[0] for entry in self.spent.values())

    @property
    def remaining(self) -> float:
        return max(0.0, self.allowance - self.total)


class Metering:
    """The accounts of one sandbox: a token's account, what it spent, the metering replies."""

    def __init__(self, allowance: float | None = None, credit_multiplier: float | None = None) -> None:
        self.default_allowance = FREE_ALLOWANCE if allowance is None else float(allowance)
        self.credit_multiplier = credit_multiplier
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._owner: dict[str, str] = {}  # token -> account name
        self._app: dict[str, str] = {}  # token -> app uid (app-under-user tokens)

    def add(self, token: str, account: str, *, guest: bool = False, app_uid: str | None = None) -> None:
        """Let *token* act for *account* (created on first use with a free or guest allowance)."""
        with self._lock:
            if account not in self._accounts:
                allowance = GUEST_ALLOWANCE if guest else self.default_allowance
                self._accounts[account] = Account(allowance=allowance)
            self._owner[token] = account
            if app_uid:
                self._app[token] = app_uid

    def account(self, token: str | None) -> Account | None:
        with self._lock:
            name = self._owner.get(token or "")
            return self._accounts.get(name) if name else None

    def set_allowance(self, token: str, allowance: float) -> None:
        """Give the token's account another monthly allowance (µ¢), e.g. to test running out."""
        found = self.account(token)
        if found is not None:
            with self._lock:
                found.allowance = float(allowance)

    def exhausted(self, token: str | None) -> bool:
        found = self.account(token)
        return found is not None and found.remaining <= 0

    def charge(self, token: str | None, usage_type: str, cost: float, units: float = 1) -> bool:
        """Add a call's cost (µ¢); True when it spent the last of the allowance."""
        found = self.account(token)
        if found is None or cost <= 0:
            return False
        app = self._app.get(token or "", GLOBAL_APP)
        with self._lock:
            before = found.remaining
            entry = found.spent.setdefault(usage_type, [0.0, 0, 0.0])
            entry[0] += cost
            entry[1] += 1
            entry[2] += units
            totals = found.apps.setdefault(app, [0.0, 0])
            totals[0] += cost
            totals[1] += 1
            return before > 0 and found.remaining <= 0

    def charge_media(self, token: str | None, iface: str, method: str, units: float = 1) -> bool:
        priced = MEDIA_COSTS.get((iface, method))
        if priced is None:
            return False
        usage_type, per_unit = priced
        return self.charge(token, usage_type, per_unit * units, units)

    # -- replies ---------------------------------------------------------------------------

    def _money(self, microcents: float) -> float:
        if self.credit_multiplier is None:
            return microcents
        return round(microcents / 100_000_000 * self.credit_multiplier, 6)

    def usage(self, token: str | None) -> dict[str, Any] | None:
        """The body of ``GET /metering/usage`` for *token* (None: not an account here)."""
        found = self.account(token)
        if found is None:
            return None
        app = self._app.get(token or "")
        with self._lock:
            usage: dict[str, Any] = {
                kind: {"cost": self._money(e[0]), "count": int(e[1]), "units": e[2]}
                for kind, e in found.spent.items()
            }
            total = self._money(found.total)
            usage["total"] = total
            usage["allowanceUsed"] = min(total, self._money(found.allowance))
            apps = {uid: {"total": self._money(t[0]), "count": int(t[1])} for uid, t in found.apps.items()}
            info: dict[str, Any] = {
                "monthUsageAllowance": self._money(found.allowance),
                "remaining": self._money(found.remaining),
                "addons": {},
            }
        if app:  # an app's token: its own app, and the rest as "others" (as Puter shows it)
            others = {"total": 0.0, "count": 0}
            for uid, totals in apps.items():
                if uid != app:
                    others["total"] += totals["total"]
                    others["count"] += totals["count"]
            apps = {**({app: apps[app]} if app in apps else {}), "others": others}
        if self.credit_multiplier is not None:
            info["unit"] = "credits"
        return {"usage": usage, "appTotals": apps, "allowanceInfo": info}

    def app_usage(self, token: str | None, app: str) -> dict[str, Any] | None:
        """``GET /metering/usage/<app>``: that app's total (None: no such app)."""
        found = self.account(token)
        if found is None:
            return None
        with self._lock:
            totals = found.apps.get(app)
        if totals is None and app not in (GLOBAL_APP, self._app.get(token or "")):
            return None
        return {"total": self._money(totals[0] if totals else 0.0)}

    def all_costs(self) -> dict[str, Any]:
        """``GET /metering/allCosts``: the price of each usage type."""
        key = "ucentsPerUnit" if self.credit_multiplier is None else "creditsPerUnit"
        costs = [
            {"usageType": usage_type, key: self._money(price), "source": f"driver:{iface}"}
            for (iface, _), (usage_type, price) in MEDIA_COSTS.items()
        ]
        for model in MODELS.values():
            for side, price in (
                ("input", model.cents_per_million_in),
                ("output", model.cents_per_million_out),
            ):
                costs.append(  # cents per million tokens is microcents per token
                    {
                        "usageType": f"{model.provider}:{model.id}:{side}-tokens",
                        key: self._money(price),
                        "unit": "token",
                        "source": f"driver:aiChat/{model.provider}",
                    }
                )
        return {"costs": costs}
