"""A snapshot of the notebook's settings (the magics' traits), handed to the flows.

The flows read settings from this frozen object, never from the magics class, so they
work without IPython's configuration machinery and cannot change a setting by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    rich: bool = True  # live-updating rich outputs (a Jupyter kernel); False: printed text
    stream: bool = True
    history_window: int = 20
    max_updates_per_second: float = 20.0
    show_reasoning: bool = True
    show_footer: bool = True
    raise_errors: bool = False
    budget_usd_cents: float | None = None
    compare_concurrency: int = 3
    sandbox_pace: float = 0.015
    login_timeout: float = 180.0
    origin: str = "https://api.puter.com"
    allow_insecure_http: bool = False
    batch_concurrency: int = 3  # %%puter --each: requests in flight at once
    batch_rate: int = 30  # ... and per batch_window seconds (a free Puter account's limits)
    batch_window: float = 10.0
    client_options: dict[str, Any] = field(default_factory=dict)  # PuterClient keyword arguments
