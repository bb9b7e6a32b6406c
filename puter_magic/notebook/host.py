"""What the magics classes share: the notebook's state, owned by :class:`PuterMagics`.

The other magics classes (sign-in, history) are given a :class:`Host` rather than the
class itself, so no module imports the magics back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .classroom import Classroom
    from .failures import Failures
    from .session import PuterSession
    from .settings import Settings

__all__ = ["Host"]


class Host(Protocol):
    default_model: Any  # a traitlets Unicode on PuterMagics: setting it tells the selector

    @property
    def session(self) -> PuterSession: ...

    @property
    def failures(self) -> Failures: ...

    @property
    def classroom(self) -> Classroom: ...

    def settings(self) -> Settings: ...

    def cell_key(self) -> str | None: ...
