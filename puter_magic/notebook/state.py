"""The notebook's state as the flows get it: the settings (traits a user sets with
``%config PuterMagics.NAME = ...``), the frozen snapshot of them a flow is handed, and what
the magics classes share.

The flows read settings from the snapshot, never from the magics class, so they work without
IPython's configuration machinery and cannot change a setting by accident. The other magics
classes (sign-in, history, media) are given a ``Host`` rather than the magics class itself,
so no module imports the magics back (a protocol for the type checker: nothing checks it at
run time, so it is declared for it alone and costs ``%load_ext`` nothing).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Float, Int, Unicode, default
from traitlets.config import Configurable

if TYPE_CHECKING:
    from typing import Protocol

    from .classroom.gate import Classroom
    from .failures import Failures
    from .session import PuterSession

__all__ = [
    "Flow",
    "Settings",
    "SettingsTraits",
    "frontend_takes_input",
    "show",
]

# -- the settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What a flow may read of the settings, frozen for one cell. Each value is the trait of
    the same name on :class:`SettingsTraits` (its default and help are declared there, once);
    ``rich`` and ``client_options`` follow from traits (:meth:`SettingsTraits.settings`)."""

    rich: bool  # live-updating rich outputs (a Jupyter kernel); False: printed text
    client_options: dict[str, Any]  # PuterClient keyword arguments (timeouts, retries)
    stream: bool
    history_window: int
    max_updates_per_second: float
    show_reasoning: bool
    show_footer: bool
    raise_errors: bool
    budget_usd_cents: float | None
    compare_concurrency: int
    sandbox_pace: float
    login_timeout: float
    origin: str
    gui_origin: str
    allow_insecure_http: bool
    batch_concurrency: int | None
    batch_rate: int | None
    batch_window: float
    max_display_chars: int
    max_tool_steps: int


class SettingsTraits(Configurable):
    """The configurable settings of :class:`~puter_magic.notebook.magics.PuterMagics`."""

    default_model = Unicode(
        help="The model %%puter uses when -m is not given (env PUTER_MODEL; unset: one the server lists). "
        "%puter_login --sandbox sets it to sandbox-tutor; the model selector sets it too."
    ).tag(config=True)
    origin = Unicode(help="The Puter API origin %puter_login uses (env PUTER_API_ORIGIN).").tag(config=True)
    gui_origin = Unicode(
        "",
        help="Puter's website, where the sign-in popup and token page live (empty: the API origin's "
        "pair, https://api.puter.com -> https://puter.com, api.X -> X; %puter_login --gui-origin).",
    ).tag(config=True)
    connect_timeout = Float(10.0, help="Seconds to wait for a connection.").tag(config=True)
    read_timeout = Float(120.0, help="Seconds of silence from the server before giving up.").tag(config=True)
    total_timeout = Float(600.0, help="Seconds any reply may take in all.").tag(config=True)
    max_retries = Int(4, help="How often 429 and 503 replies are retried.").tag(config=True)
    history_window = Int(
        20,
        help="How many past exchanges of a thread each request sends (older ones are kept).",
    ).tag(config=True)
    stream = Bool(True, help="Stream replies as they arrive (--no-stream turns it off for one cell).").tag(
        config=True
    )
    raise_errors = Bool(
        False,
        help="Raise Puter failures instead of showing a warning (for notebooks run as pipelines).",
    ).tag(config=True)
    show_reasoning = Bool(True, help="Show a model's reasoning folded above its reply.").tag(config=True)
    show_footer = Bool(True, help="Show the model, tokens and time under each reply.").tag(config=True)
    max_updates_per_second = Float(20.0, help="The most display updates a second while streaming.").tag(
        config=True
    )
    sandbox_pace = Float(0.015, help="Seconds between streamed chunks of the in-kernel sandbox.").tag(
        config=True
    )
    allow_insecure_http = Bool(
        False, help="Allow http:// to a non-loopback origin (the token travels in clear)."
    ).tag(config=True)
    rich_output = Bool(
        None,
        allow_none=True,
        help="Show rich, live-updating outputs (None: yes in a Jupyter kernel, plain printed "
        "text in terminal IPython).",
    ).tag(config=True)
    compare_concurrency = Int(
        3, help="How many models --compare asks at once (a free Puter account allows 3)."
    ).tag(config=True)
    budget_usd_cents = Float(
        None,
        allow_none=True,
        help="Refuse further requests once the notebook has spent this many US cents (as replies "
        "report it); None: no budget.",
    ).tag(config=True)
    login_timeout = Float(
        180.0, help="Seconds %puter_login waits for the sign-in (the button's popup, or --browser)."
    ).tag(config=True)

    batch_concurrency = Int(
        None,
        allow_none=True,
        help="How many requests %%puter --each has in flight at once (None: the account's limit, "
        "2 for a guest, 3 for a free account; a paid plan allows 20).",
    ).tag(config=True)
    batch_rate = Int(
        None,
        allow_none=True,
        help="How many requests %%puter --each sends per batch_window (None: the account's limit, "
        "20 per 10 s for a guest, 30 for a free account; a paid plan allows 200).",
    ).tag(config=True)
    batch_window = Float(10.0, help="The window of batch_rate, in seconds.").tag(config=True)
    max_tool_steps = Int(
        8, help="The most requests one %%puter --tools cell makes before it stops the model calling tools."
    ).tag(config=True)
    max_display_chars = Int(
        100_000,  # views.MAX_DISPLAY_CHARS, written out: the settings load without the views
        help="The most characters of a reply (or transcript) an output shows; the rest is kept "
        "(--out, %puter_history --json) and a note says how much was left out. 0: no bound.",
    ).tag(config=True)

    log_file = Unicode(
        "",
        help="Append every exchange to this JSON Lines file (the teacher's log; a notebook's "
        "rules with \"log\": true put it beside the notebook). '': only as the rules say.",
    ).tag(config=True)
    notebook_file = Unicode(
        "",
        help="The notebook whose classroom rules apply, where the frontend does not say which "
        "notebook runs (nbconvert, papermill). Jupyter and VS Code say it themselves.",
    ).tag(config=True)

    @default("default_model")
    def _default_model(self) -> str:
        return os.environ.get("PUTER_MODEL", "")

    @default("origin")
    def _default_origin(self) -> str:
        from ..api.origin import DEFAULT_ORIGIN

        return os.environ.get("PUTER_API_ORIGIN", "") or DEFAULT_ORIGIN

    def in_kernel(self) -> bool:
        """True in a Jupyter kernel (the magics class knows its shell)."""
        return False

    def settings(self) -> Settings:
        """A snapshot of the traits, for one flow: each field of :class:`Settings` is the trait
        of its name, but the two that follow from other traits."""
        rich = self.rich_output if self.rich_output is not None else self.in_kernel()
        derived: dict[str, Any] = {
            "rich": bool(rich),
            "client_options": {
                "timeout": (self.connect_timeout, self.read_timeout),
                "total_timeout": self.total_timeout,
                "max_retries": self.max_retries,
                "allow_insecure_http": self.allow_insecure_http,
            },
        }
        values: dict[str, Any] = {
            f.name: derived[f.name] if f.name in derived else getattr(self, f.name) for f in fields(Settings)
        }
        return Settings(**values)


# -- what the magics classes share ------------------------------------------------------------------


if TYPE_CHECKING:

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


# -- what a flow is given ---------------------------------------------------------------------------


@dataclass
class Flow:
    """The session, a snapshot of the settings, a display function, and the notebook's one
    warn-or-raise place. Flows know nothing of the magics class."""

    session: PuterSession
    settings: Settings
    display: Callable[..., Any]
    failures: Failures


# -- showing an object ------------------------------------------------------------------------------


def show(obj: Any, **kwargs: Any) -> Any:
    from IPython.display import display

    return display(obj, **kwargs)  # type: ignore[no-untyped-call]


def frontend_takes_input(shell: Any) -> bool:
    """Whether the frontend of *shell*'s kernel can answer ``input()`` and ``getpass``: nbclient's
    and papermill's do not (they send ``allow_stdin: false``). Outside a kernel: yes."""
    kernel = getattr(shell, "kernel", None)
    return kernel is None or getattr(kernel, "_allow_stdin", True) is not False
