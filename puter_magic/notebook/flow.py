"""What every cell flow is given by the magics that own it (see :mod:`.magics`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .failures import Failures
    from .session import PuterSession
    from .settings import Settings

__all__ = ["Flow"]


@dataclass
class Flow:
    """The session, a snapshot of the settings, a display function, and the notebook's one
    warn-or-raise place. Flows know nothing of the magics class."""

    session: PuterSession
    settings: Settings
    display: Callable[..., Any]
    failures: Failures
