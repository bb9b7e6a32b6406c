"""The one place that decides what a Puter failure becomes in a notebook.

A :class:`~puter_magic.api.errors.PuterError` is shown as one warning (in the cell's own
output when it has one) and changes nothing; with ``raise_errors`` (notebooks run as
pipelines) it is raised instead. Anything else is a bug and propagates untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from ..api.account import Allowance
from ..api.errors import PuterError, UsageLimited

if TYPE_CHECKING:
    from ..api.account import AccountLimits

__all__ = ["Failures", "Placed"]


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
    ) -> None:
        self._raise_errors = raise_errors
        self._display = display
        self._origin = origin  # the server in use, so hints name it (self-hosted or not)
        self._limits = limits  # the account's limits, so a 429's hint names them
        self._allowance = allowance  # what is left, read when a warning is about running out
        self._limited = limited  # whether a reply said usage_limited since last asked (and forget it)
        self._warned_limit = False  # this cell already showed the out-of-allowance warning

    @property
    def raising(self) -> bool:
        """Failures are raised (``raise_errors``), not shown as warnings."""
        return self._raise_errors()

    def warning(self, err: PuterError, magic: str | None = None) -> Any:
        """The one warning for *err* (running out of allowance names what is left; in the
        words of *magic*, the one that failed)."""
        from .advice import WarningBox, out_of_allowance

        left = None
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
