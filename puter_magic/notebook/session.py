"""A notebook's Puter state as a plain object: sign-in, sandbox, threads, default model.

The magics own one PuterSession per shell; it also works on its own from Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..api.account import Allowance
from ..api.client import PuterClient
from ..api.errors import BudgetExceeded, NotSignedIn, PuterError
from ..api.humanize import plural
from ..api.models import AutomaticModel, ModelInfo, automatic_model
from ..api.usage import UsageMeter
from .classroom.gate import Classroom
from .conversation import Conversations, Exchange, Placement, Thread

if TYPE_CHECKING:
    from ..api.recording import Tape
    from ..sandbox import Sandbox

__all__ = ["Ask", "PuterSession", "ReplayMark"]

SANDBOX_MODEL = "sandbox-tutor"
REPLAY_ORIGIN = "http://replay.localhost"  # a replay-only session never connects anywhere


@dataclass
class Ask:
    """One prepared question: what will be sent, and where its exchange will be recorded."""

    user: str
    thread: Thread | None  # None: --no-history
    placement: Placement | None
    messages: list[dict[str, Any]]
    model: str
    options: dict[str, Any] = field(default_factory=dict)
    cell_id: str | None = None
    system: str | None = None
    reset_first: bool = False  # --new: the thread starts afresh once the reply arrived
    set_system: bool = False  # -s given: it becomes the thread's system prompt
    automatic: str | None = None  # no model was chosen: the note that says which one is used

    def record(
        self,
        text: str,
        *,
        model: str | None,
        usage: dict[str, Any],
        interrupted: bool = False,
        turns: list[dict[str, Any]] | None = None,
    ) -> None:
        if self.thread is None or self.placement is None:
            return
        if self.reset_first:
            self.thread.reset()
        if self.set_system:
            self.thread.system = self.system
        exchange = Exchange(
            user=self.user,
            assistant=text,
            model=model or self.model,
            system=self.system,
            cell_id=self.cell_id,
            usage=dict(usage),
            interrupted=interrupted,
            turns=list(turns or []),
        )
        self.thread.record(exchange, self.placement)

    def placement_notes(self) -> list[str]:
        """The notes that say where this exchange went (one-shot, or what a re-run replaced)."""
        placement = self.placement
        if self.thread is None:
            return ["one-shot: not kept in the conversation"]
        if placement is None or placement.index is None:
            return []
        total = len(self.thread.exchanges)
        note = f"re-run: replaced this cell's earlier exchange ({placement.index + 1} of {total})"
        if placement.later:
            later = plural(placement.later, "later exchange")
            kept = "is kept as it was" if placement.later == 1 else "are kept as they were"
            note += f"; the {later} {kept}"
        return [note + "; the old reply: %puter_history --replaced"]

    def where_whole(self, out: str | None, *, kept: bool) -> str:
        """Where the whole reply is, for the note under a display that was cut short."""
        if not kept:
            return "the rest is not kept (an interrupted or failed reply is not recorded)"
        places = [f"{out} (--out)"] if out else []
        if self.thread is not None:
            places.append("%puter_history --json")
        if not places:
            return "the rest is not kept (--out VAR keeps a whole reply)"
        return "the whole text is in " + " and ".join(places)


class ReplayMark:
    """How many replies the recording had given at one moment, to tell whether the requests
    since were answered from it (nothing was spent then)."""

    def __init__(self, tape: Tape | None) -> None:
        self.tape = tape
        self.before = tape.replayed if tape is not None else 0

    def happened(self) -> bool:
        tape = self.tape
        return tape is not None and tape.replaying and tape.replayed > self.before

    def notes(self) -> list[str]:
        """The footer's note when a reply came from the recording."""
        return (
            [f"replayed from {self.tape.path.name}: nothing was spent"]
            if self.happened() and self.tape
            else []
        )


class PuterSession:
    """Who is signed in where, the sandbox if one runs, the threads and the default model."""

    def __init__(self, client_factory: Callable[..., PuterClient] = PuterClient) -> None:
        self._client_factory = client_factory
        self.client: PuterClient | None = None
        self.account: dict[str, Any] = {}
        self.sandbox: Sandbox | None = None
        self.conversations = Conversations()
        self.default_model: str | None = None
        self.meter = UsageMeter()
        self.tape: Tape | None = None
        self.classroom = Classroom()  # the teacher's rules; the magics give it the notebook's
        self._models: dict[str, list[ModelInfo]] = {}
        self._models_read: dict[str, float] = {}  # origin -> when its catalogue was read (time.time())

    @property
    def username(self) -> str | None:
        name = self.account.get("username")
        return name if isinstance(name, str) else None

    @property
    def origin(self) -> str | None:
        return self.client.origin if self.client else None

    def __repr__(self) -> str:
        who = f"{self.username}@{self.origin}" if self.client else "signed out"
        return f"<PuterSession {who} model={self.default_model!r} {self.conversations!r}>"

    # -- signing in -----------------------------------------------------------------

    def sign_in(self, origin: str, token: str, **client_options: Any) -> dict[str, Any]:
        """Verify *token* with ``GET /whoami`` and only then switch to it.

        On failure the PuterError propagates and any earlier sign-in stays in place.
        """
        client = self._client_factory(origin, token, **client_options)
        client.tape = self.tape  # a replayed notebook may sign in from its recording
        try:
            account = client.whoami()
        except BaseException as exc:
            client.close()
            if isinstance(exc, PuterError) and exc.origin is None:
                exc.origin = client.origin  # the origin signed in to, not the one before
            raise
        if self.client is not None and self.client is not client:
            self.client.close()
        self.client, self.account = client, account
        return account

    # -- recording and replaying --------------------------------------------------------

    def record_to(self, path: str) -> Tape:
        """Record every request from now on (and its reply) to *path*."""
        from ..api.recording import Mode, Tape

        self.tape = Tape(path, Mode.RECORD)
        if self.client is not None:
            self.client.tape = self.tape
        return self.tape

    def replay_from(self, path: str, *, fallthrough: bool = False, pace: str = "original") -> Tape:
        """Answer requests from a recording; with no sign-in, from the recording alone."""
        from ..api.recording import Mode, Tape

        self.tape = Tape(path, Mode.REPLAY, fallthrough=fallthrough, pace=pace)
        if self.client is None:
            self.client = self._client_factory(REPLAY_ORIGIN, None)
            self.account = {"username": "(replay)"}
        self.client.tape = self.tape
        return self.tape

    def stop_tape(self) -> Tape | None:
        tape, self.tape = self.tape, None
        if self.client is not None:
            self.client.tape = None
            if self.client.origin == REPLAY_ORIGIN:
                self.sign_out()
        return tape

    def start_sandbox(self, pace: float = 0.015) -> Sandbox:
        """Start (or reuse) a sandbox in this process and sign in to it.

        Where Python cannot listen (a browser: :mod:`puter_magic.api.runtime`), the sandbox
        answers in-process instead, through a transport adapter mounted on the client; its
        replies then arrive whole, so they are not paced."""
        from ..api import runtime
        from ..sandbox import Sandbox

        if not runtime.can_listen():
            if self.sandbox is None:
                self.sandbox = Sandbox(pace=0.0, slow_pace=0.0)
            self.sign_in(self.sandbox.origin, self.sandbox.token, adapter=self.sandbox.in_process())
        else:
            if self.sandbox is None or not self.sandbox.running:
                self.sandbox = Sandbox(pace=pace).start()
            self.sign_in(self.sandbox.origin, self.sandbox.token)
        self.default_model = SANDBOX_MODEL
        return self.sandbox

    def sign_out(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client, self.account = None, {}

    def close(self) -> None:
        self.sign_out()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None

    def replays(self) -> ReplayMark:
        """A mark on the recording now: were the requests from here on replayed?"""
        return ReplayMark(self.tape)

    def require_client(self) -> PuterClient:
        if self.client is None:
            raise NotSignedIn("nothing was sent: this notebook has no Puter sign-in yet")
        return self.client

    def check_budget(self, budget_cents: float | None, spent: float | None = None) -> None:
        """Refuse to send once the notebook has spent *budget_cents* (None: no budget). *spent*:
        what a batch under way counts, its own replies included (default: the meter's)."""
        if budget_cents is None:
            return
        now = self.meter.spent_cents if spent is None else spent
        if now >= budget_cents:
            what = "nothing was sent" if spent is None else "nothing more was sent"
            raise BudgetExceeded(
                f"this notebook has spent {now:.4g}¢ of its {budget_cents:g}¢ budget, so {what}"
            )

    def allowance(self, max_age: float = 60.0) -> Allowance | None:
        """The account's allowance (``GET /metering/usage``; a reading younger than *max_age*
        seconds is reused: Puter allows 120 reads a minute). None when not signed in, or
        replaying. A failure to read it raises its PuterError."""
        if self.client is None or self.client.origin == REPLAY_ORIGIN:
            return None
        return self.client.allowance(max_age=max_age)

    # -- models ----------------------------------------------------------------------

    def models(self, refresh: bool = False) -> list[ModelInfo]:
        """The server's chat models that may be asked here (the classroom's ``models``
        rule), cached per origin."""
        client = self.require_client()
        if refresh or client.origin not in self._models:
            import time

            self._models[client.origin] = client.models()
            self._models_read[client.origin] = time.time()
        return self.classroom.allowed(self._models[client.origin])

    def models_read(self) -> tuple[list[ModelInfo], float] | None:
        """The catalogue last read from the server in use and when (``time.time()``), without
        asking it again (None: never read)."""
        origin = self.origin or ""
        if origin not in self._models:
            return None
        return self.classroom.allowed(self._models[origin]), self._models_read.get(origin, 0.0)

    def provider_of(self, model: str) -> str | None:
        """The provider the server's model list names for *model* (only if already read)."""
        listed = self._models.get(self.origin or "", [])
        found = next((m for m in listed if model == m.id or model in m.aliases), None)
        return found.provider if found is not None and found.provider else None

    def automatic_model(self) -> AutomaticModel:
        """The model used when none is chosen: one this server lists (see :mod:`puter_magic.api.models`).

        Reads the catalogue once per origin (cached with :meth:`models`); when it cannot be
        read, Puter's documented default. Where the classroom's AI help is off nothing is
        sent, not even the catalogue request: Puter's documented default names the model.
        """
        if self.client is None or self.classroom.mode() == "off":
            return automatic_model(None)
        try:
            models = self.models()
        except PuterError:
            return automatic_model(None)
        return automatic_model(models)

    # -- asking ------------------------------------------------------------------------

    def prepare(
        self,
        user: str,
        *,
        model: str | None = None,
        thread: str | None = None,
        system: str | None = None,
        window: int | None = None,
        history: bool = True,
        new: bool = False,
        cell_id: str | None = None,
        options: dict[str, Any] | None = None,
        fallback_model: str | None = None,
        tools: bool = False,
    ) -> Ask:
        """Work out the messages for *user* without sending anything or changing any
        state: the thread changes only when :meth:`Ask.record` is called with a reply.

        The model is *model*, else the default model, else *fallback_model*, else one the
        server lists (:meth:`automatic_model`; this may read the model catalogue once). Where
        the classroom's rules list the models, the default is one of them. In tutor mode the
        system prompt sent starts with the tutor's instructions (the thread keeps the
        student's own)."""
        chosen = model or self.classroom.model_for(self.default_model or fallback_model)
        automatic = None
        if not chosen:
            auto = self.automatic_model()
            chosen, automatic = (
                auto.model,
                f"no model chosen: using {auto.model}, {auto.why}; %puter_models to pick",
            )
        if not history:
            sent_system = self.classroom.system_prompt(system)
            messages = ([{"role": "system", "content": sent_system}] if sent_system else []) + [
                {"role": "user", "content": user}
            ]
            ask = Ask(user, None, None, messages, chosen, dict(options or {}), cell_id, system)
            ask.automatic = automatic
            return ask
        target = self.conversations.get(thread)
        effective = (system or None) if system is not None else target.system
        base = Thread(target.name) if new else target
        placement = base.place(cell_id, user)
        messages = base.messages(
            user,
            placement=placement,
            window=window,
            system=self.classroom.system_prompt(effective) or "",
            tool_turns=tools,
        )
        ask = Ask(user, target, placement, messages, chosen, dict(options or {}), cell_id, effective)
        ask.reset_first = new
        ask.set_system = system is not None
        ask.automatic = automatic
        return ask
