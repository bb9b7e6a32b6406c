"""The classroom's gate: the teacher's rules applied where each request is about to be sent.

:class:`Classroom` is the one gate every way of asking goes through (``%%puter``,
``%puter``, ``%puter_explain``, each model of ``--compare``, each item of ``--each``, each
step of ``--tools``, the media magics, ``%puter_call``). Before a request is sent, a flow
calls :meth:`Classroom.admit`, which gives a :class:`Ticket` or a :class:`Refusal` (a calm
note: nothing is sent and no exception is raised, so Run All goes on). When the reply is
shown, the flow tells the ticket how it ended; the ticket writes the teacher's log line
and the reply's output metadata (:mod:`.log`).

The rules come from :class:`~.policy.PolicyWatch`; the tutor's instructions from
:mod:`.tutor`; the log from :mod:`.log`. The count of requests lives here, for this
kernel session (a restart starts it again: a convention, not a lock). With no rules it
admits everything, so a plain :class:`~puter_magic.notebook.session.PuterSession` uses an open one.

``%puter_policy`` shows the rules in force (:func:`policy_view`). The views (notes, their
style) load when something is shown. ``%load_ext`` reads the rules with the same
:class:`~.policy.PolicyWatch` and does not load this module: the first magic that asks does.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .log import TeacherLog, log_path_for, stamp, utc_now
from .policy import PolicyWatch, Rules
from .tutor import TutorNotes, tutor_prompt

if TYPE_CHECKING:
    from ...api.models import ModelInfo

__all__ = [
    "CATALOGUE",
    "CHAT_INTERFACES",
    "HOW_TO_SET",
    "Classroom",
    "PolicyView",
    "Refusal",
    "Ticket",
    "policy_view",
]

CHAT_INTERFACES = ("puter-chat-completion",)  # %puter_call of these asks a chat model
CATALOGUE = "catalogue"  # the kind of a request that lists models: not one that asks a model
LEFT = 'style="text-align: left"'  # JupyterLab right-aligns table cells
HOW_TO_SET = "puter-classroom NOTEBOOK.ipynb --ai tutor --models A,B --max-requests 30 --log"


@dataclass
class Refusal:
    """Nothing was sent, and why: a calm note (not a warning, not an exception)."""

    reason: str
    detail: str = "Nothing was sent."

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from ..views import Note

        return Note(self.reason, self.detail)._repr_mimebundle_()

    def __repr__(self) -> str:
        return f"{self.reason} {self.detail}"


@dataclass
class Ticket:
    """One admitted request: how it ends is logged, and its reply stamped."""

    classroom: Classroom
    model: str | None
    prompt: str
    magic: str
    options: dict[str, Any]
    cell: str | None
    mode: str
    extra: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    outcome: str | None = None
    counted: bool = True  # against max_requests (the model list is not)

    def answered(self, reply: str, *, model: str | None = None, usage: dict[str, Any] | None = None) -> None:
        self._end("answered", reply=reply, answered_by=model or self.model, usage=usage)

    def failed(self, error: Any, *, reply: str = "", usage: dict[str, Any] | None = None) -> None:
        code = getattr(error, "code", None)
        message = getattr(error, "message", None) or str(error)
        what = f"{type(error).__name__}" + (f" ({code})" if code else "") + f": {message}"
        self._end("failed", reply=reply, usage=usage, error=what)

    def interrupted(self, *, reply: str = "", usage: dict[str, Any] | None = None) -> None:
        self._end("interrupted", reply=reply, usage=usage)

    def unsent(self) -> None:
        """It was never sent after all (the batch stopped first, the input was refused):
        not counted, not logged."""
        if self.outcome is None:
            self.outcome = "unsent"
            self._give_back()

    def _give_back(self) -> None:
        if self.counted:
            self.counted = False
            self.classroom.sent = max(self.classroom.sent - 1, 0)

    def badges(self) -> list[str]:
        """What the reply's footer adds: ``tutor`` in tutor mode."""
        return ["tutor"] if self.mode == "tutor" else []

    @contextlib.contextmanager
    def watch(self) -> Iterator[None]:
        """Log a request that ends by raising: a Puter failure, or the stop button. A request
        refused on this side before it left (no sign-in, the budget, an input the client
        refuses: a missing file, one over Puter's limit) was never sent: it is given back and
        not logged."""
        from ...api.errors import BudgetExceeded, NotSignedIn
        from ...api.media import MediaInputError

        try:
            yield
        except KeyboardInterrupt:
            self.interrupted()
            raise
        except (NotSignedIn, BudgetExceeded, MediaInputError):
            self.unsent()
            raise
        except Exception as exc:
            self.failed(exc)
            raise

    def _end(self, outcome: str, **fields: Any) -> None:
        if self.outcome is not None:
            return  # one line per request
        self.outcome = outcome
        self.classroom.log_entry(self, outcome, **fields)

    def stamp(self, model: str | None, usage: dict[str, Any] | None, elapsed: float | None) -> dict[str, Any]:
        """The reply's output metadata (see :mod:`.log`)."""
        answered = model or self.model
        return stamp(
            model=answered,
            usage=usage,
            elapsed=elapsed,
            options=self.options,
            provider=self.classroom.provider(answered) if answered else None,
            asked=self.model,
            mode=self.mode,
        )


class Classroom:
    """The rules in force, the count of requests, the tutor's instructions and the log."""

    def __init__(
        self,
        watch: PolicyWatch | None = None,
        *,
        show: Callable[[Any], Any] | None = None,
        log_file: Callable[[], str] = lambda: "",
        provider: Callable[[str], str | None] | None = None,
        told: set[tuple[str, str]] | None = None,
    ) -> None:
        self.watch = watch
        self.show = show
        self._log_file = log_file
        self.provider: Callable[[str], str | None] = provider or (lambda model: None)
        self.sent = 0  # requests sent from this kernel session
        self.cell_id: str | None = None
        self._now: tuple[Rules, str | None] | None = None  # this cell's rules and TUTOR.md text
        self.magic = "python"
        self.options: dict[str, Any] = {}
        self.tutor = TutorNotes()
        self._logs: dict[Path, TeacherLog] = {}
        self._told = told if told is not None else set()  # (title, text) of the notes shown

    # -- the rules ------------------------------------------------------------------------

    def new_cell(self, cell_id: str | None) -> None:
        """A cell starts: the rules are checked again (a changed file is read) at its first use."""
        self.cell_id = cell_id
        self._now = None

    def rules(self) -> Rules:
        """The rules in force for this cell: checked (and read again where a file changed) at
        the start of each cell and each magic, then kept for the requests the cell makes.
        Problems are shown once."""
        if self._now is not None:
            return self._now[0]
        rules = self.watch.rules() if self.watch is not None else Rules()
        for problem in rules.problems:
            self._tell(problem.detail, problem.title)
        self._now = (rules, None)
        return rules

    def _tell(self, text: str, title: str) -> None:
        if (title, text) in self._told or self.show is None:
            return
        self._told.add((title, text))
        from ..views import Note

        self.show(Note(title, text))

    @property
    def notebook(self) -> Path | None:
        return self.watch.notebook_path if self.watch is not None else None

    def folder(self) -> Path:
        notebook = self.notebook
        return notebook.parent if notebook is not None else Path.cwd()

    def begin(self, magic: str, options: dict[str, Any]) -> None:
        """A magic starts: what the log and the output metadata name as its magic and options."""
        self.magic, self.options = magic, dict(options)
        self._now = None

    def left(self, rules: Rules | None = None) -> int | None:
        """Requests left of ``max_requests`` in this kernel session (None: no limit)."""
        rules = rules or self.rules()
        if rules.max_requests is None:
            return None
        return max(rules.max_requests - self.sent, 0)

    def mode(self) -> str:
        return self.rules().mode

    # -- what is sent ---------------------------------------------------------------------

    def model_for(self, default: str | None) -> str | None:
        """The model used when none is chosen: the default when it is allowed, else the
        first allowed one."""
        rules = self.rules()
        if rules.models is None or not rules.models or default in rules.models:
            return default
        return rules.models[0]

    def allowed(self, models: Sequence[ModelInfo]) -> list[ModelInfo]:
        """The models of *models* that may be asked (all without a ``models`` rule)."""
        allow = self.rules().models
        return list(models) if allow is None else [m for m in models if m.id in allow]

    def system_prompt(self, student: str | None) -> str | None:
        """The system prompt sent: the student's own, or in tutor mode the tutor's
        instructions with the teacher's TUTOR.md and then the student's."""
        rules = self.rules()
        if rules.mode != "tutor":
            return student
        assert self._now is not None
        teacher = self._now[1]
        if teacher is None:
            teacher = self.tutor.read(self.folder())
            self._now = (rules, teacher)
        return tutor_prompt(teacher, student)

    # -- admitting ------------------------------------------------------------------------

    def admit(
        self, *, model: str | None, prompt: str, kind: str = "chat", code: bool = False
    ) -> Ticket | Refusal:
        """A ticket for one request, or a refusal (logged) when the rules say no.

        *kind*: ``chat`` (the models rule and tutor mode apply), ``media`` (image, speech,
        transcript, OCR), :data:`CATALOGUE` (the model list: refused only when AI help is off,
        and not counted: it asks no model), or the interface name of a ``%puter_call``.
        """
        if kind == CATALOGUE:
            rules = self.rules()
            refusal = self._refuse(rules, [], kind, code, requests=0)
            if refusal is not None:
                self._log_refusal(model, prompt, refusal)
                return refusal
            ticket = self._ticket(model, prompt, rules)
            ticket.counted = False
            return ticket
        tickets = self.admit_all([model], prompt, kind=kind, code=code)
        return tickets if isinstance(tickets, Refusal) else tickets[0]

    def admit_all(
        self, models: Sequence[str | None], prompt: str, *, kind: str = "chat", code: bool = False
    ) -> list[Ticket] | Refusal:
        """One ticket per model (``--compare``), all or none."""
        rules = self.rules()
        refusal = self._refuse(rules, models, kind, code)
        if refusal is not None:
            self._log_refusal(
                models[0] if len(models) == 1 else ",".join(m or "" for m in models), prompt, refusal
            )
            return refusal
        self.sent += len(models)
        return [self._ticket(m, prompt, rules) for m in models]

    def admit_items(self, model: str | None, prompts: Sequence[str]) -> tuple[list[Ticket], Refusal | None]:
        """Tickets for the items of ``--each`` that may be asked (the first ones, within
        ``max_requests``), and the refusal of the rest (None when all may be asked)."""
        rules = self.rules()
        refusal = self._refuse(rules, [model], "chat", False, requests=1 if prompts else 0)
        if refusal is not None:
            self._log_refusal(model, prompts[0] if prompts else "", refusal, items=len(prompts))
            return [], refusal
        left = self.left(rules)
        allowed = len(prompts) if left is None else min(left, len(prompts))
        self.sent += allowed
        tickets = [self._ticket(model, p, rules) for p in prompts[:allowed]]
        if allowed == len(prompts):
            return tickets, None
        rest = len(prompts) - allowed
        refusal = Refusal(
            f"Request limit: {rest} of {len(prompts)} items were not asked.",
            f"This notebook allows {rules.max_requests} requests per kernel session "
            f"(set by {rules.where('max_requests')}), and they are used up.",
        )
        self._log_refusal(model, prompts[allowed], refusal, items=rest)
        return tickets, refusal

    def refuse_cell(self, model: str | None, prompts: Sequence[str]) -> Refusal | None:
        """``--each`` before its remembered answers are looked up: the refusal of the whole
        cell (AI help off, a model not allowed; logged once, with its items), or None."""
        rules = self.rules()
        refusal = self._refuse(rules, [model], "chat", False, requests=0)
        if refusal is not None:
            self._log_refusal(model, prompts[0] if prompts else "", refusal, items=len(prompts))
        return refusal

    def refuse_code(self, prompt: str) -> Refusal | None:
        """``--code`` in tutor mode: refused (and logged) before anything is sent."""
        rules = self.rules()
        if rules.mode != "tutor":
            return None
        refusal = self._refuse(rules, [], "chat", True, requests=0)
        if refusal is not None:
            self._log_refusal(None, prompt, refusal)
        return refusal

    def _ticket(self, model: str | None, prompt: str, rules: Rules, **extra: Any) -> Ticket:
        return Ticket(self, model, prompt, self.magic, dict(self.options), self.cell_id, rules.mode, extra)

    def _refuse(
        self, rules: Rules, models: Sequence[str | None], kind: str, code: bool, requests: int | None = None
    ) -> Refusal | None:
        if rules.mode == "off":
            return Refusal(f"AI help is off for this notebook (set by {rules.where('ai')}).")
        chat = kind == "chat" or kind in CHAT_INTERFACES
        if rules.mode == "tutor" and kind in CHAT_INTERFACES:
            return Refusal(
                f"%puter_call {kind} is not available in tutor mode (set by {rules.where('ai')}).",
                "Ask with %%puter: questions go through the tutor. Nothing was sent.",
            )
        if rules.mode == "tutor" and code:
            return Refusal(
                f"--code is not available in tutor mode (set by {rules.where('ai')}).",
                "A tutor does not write the solution cell: ask without --code. Nothing was sent.",
            )
        if chat and rules.models is not None:
            allowed = ", ".join(rules.models)
            for model in models:
                if not rules.models:
                    return Refusal(
                        f"No model may be asked here: {rules.where('models')} allow none in common.",
                    )
                if model not in rules.models:
                    return Refusal(
                        f"{model or 'That model'} is not one of this notebook's models: {allowed} "
                        f"(set by {rules.where('models')}).",
                        "Nothing was sent.",
                    )
        left = self.left(rules)
        needed = len(models) if requests is None else requests
        if left is not None and needed > left:
            limit = rules.max_requests
            if left == 0:
                return Refusal(
                    f"Request limit reached: this notebook allows {limit} requests per kernel session "
                    f"(set by {rules.where('max_requests')}).",
                    "Nothing was sent.",
                )
            return Refusal(
                f"Request limit: this needs {needed} requests and {left} of this notebook's {limit} are "
                f"left (set by {rules.where('max_requests')}).",
                "Nothing was sent.",
            )
        return None

    # -- the log --------------------------------------------------------------------------

    def log_path(self, rules: Rules | None = None) -> Path | None:
        """Where the log goes: the ``log_file`` setting, else beside the notebook when the
        rules ask for a log; None when nothing is logged."""
        configured = self._log_file()
        if configured:
            return Path(configured).expanduser()
        rules = rules or self.rules()
        if not rules.log:
            return None
        notebook = self.notebook
        if notebook is None:
            self._tell(
                "no notebook file is known to write it beside (this frontend does not say which "
                "notebook runs); set %config PuterMagics.log_file = 'FILE.jsonl'",
                "Classroom log: not written:",
            )
            return None
        return log_path_for(notebook)

    def log_entry(self, ticket: Ticket, outcome: str, **fields: Any) -> None:
        """Append the line of *ticket*'s request, which ended as *outcome*."""
        self._write(
            {
                "time": utc_now(),
                "cell": ticket.cell,
                "magic": ticket.magic,
                "options": ticket.options,
                "ai": ticket.mode,
                "model": ticket.model,
                "answered_by": fields.pop("answered_by", None),
                "prompt": ticket.prompt,
                "reply": fields.pop("reply", ""),
                "usage": fields.pop("usage", None) or {},
                "seconds": round(time.monotonic() - ticket.started, 2),
                "outcome": outcome,
                **ticket.extra,
                **{k: v for k, v in fields.items() if v is not None},
            }
        )

    def _log_refusal(self, model: str | None, prompt: str, refusal: Refusal, **extra: Any) -> None:
        rules = self.rules()
        self._write(
            {
                "time": utc_now(),
                "cell": self.cell_id,
                "magic": self.magic,
                "options": dict(self.options),
                "ai": rules.mode,
                "model": model,
                "answered_by": None,
                "prompt": prompt,
                "reply": "",
                "usage": {},
                "outcome": "refused",
                "reason": refusal.reason,
                **extra,
            },
            rules,
        )

    def _write(self, entry: dict[str, Any], rules: Rules | None = None) -> None:
        path = self.log_path(rules)
        if path is None:
            return
        log = self._logs.get(path)
        if log is None:
            log = self._logs[path] = TeacherLog(path)
        problem = log.write(entry)
        if problem is not None:
            self._tell(f"{path}: {problem}. Your cells run as before.", "Classroom log: could not write")


# -- %puter_policy ---------------------------------------------------------------------------


@dataclass
class PolicyView:
    """The rules in force, each with where it came from, and what is left of ``max_requests``."""

    rules: Rules
    sent: int
    notebook: Path | None
    site: str | None
    tutor_file: Path | None
    log: Path | None

    def rows(self) -> list[tuple[str, str, str]]:
        r = self.rules
        left = ""
        if r.max_requests is not None:
            left = f"{max(r.max_requests - self.sent, 0)} left ({self.sent} sent in this kernel session)"
        ai = {
            "off": "off: nothing is sent",
            "tutor": "tutor: the model guides, it does not solve",
            "on": "on",
        }[r.mode]
        rows = [
            ("ai", ai, r.where("ai") or "nothing said: on"),
            (
                "models",
                ", ".join(r.models) if r.models else ("none in common" if r.models == () else "any"),
                r.where("models") or "nothing said",
            ),
            (
                "max_requests",
                f"{r.max_requests}; {left}" if left else "no limit",
                r.where("max_requests") or "nothing said",
            ),
            ("log", str(self.log) if self.log else "off", r.where("log") or "nothing said"),
        ]
        if r.mode == "tutor":
            rows.append(("TUTOR.md", str(self.tutor_file) if self.tutor_file else "none found", ""))
        return rows

    def head(self) -> str:
        where = f"notebook {self.notebook}" if self.notebook else "no notebook file known"
        site = f"; site file {self.site}" if self.site else ""
        return f"Classroom rules ({where}{site})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        import html

        from ..views import NOT_MATH, NOTE_STYLE

        rows = self.rows()
        width = max(len(k) for k, _, _ in rows)
        plain = [self.head() + ":"]
        plain += [f"  {k.ljust(width)}  {v}" + (f"  ({w})" if w else "") for k, v, w in rows]
        plain += [f"  problem: {p}" for p in self.rules.problems]
        plain.append("A classroom convention the notebook carries, not a lock.")
        esc = html.escape
        cells = "".join(
            f"<tr><td {LEFT}><code>{esc(k)}</code></td><td {LEFT}>{esc(v)}</td><td {LEFT}>{esc(w)}</td></tr>"
            for k, v, w in rows
        )
        problems = "".join(f"<div>problem: {esc(str(p))}</div>" for p in self.rules.problems)
        body = (
            f"<strong>{esc(self.head())}</strong>"
            f'<table style="margin: 4px 0"><thead><tr><th {LEFT}>rule</th><th {LEFT}>in force</th>'
            f"<th {LEFT}>set by</th></tr>"
            f"</thead><tbody>{cells}</tbody></table>{problems}"
            "<div>A classroom convention the notebook carries, not a lock.</div>"
        )
        return {
            "text/plain": "\n".join(plain),
            "text/html": f'<div class="puter-note {NOT_MATH}" style="{NOTE_STYLE}">{body}</div>',
        }

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


def policy_view(classroom: Classroom) -> PolicyView:
    rules = classroom.rules()
    tutor_file = None
    if rules.mode == "tutor":
        classroom.tutor.read(classroom.folder())
        tutor_file = classroom.tutor.path
    watch = classroom.watch
    return PolicyView(
        rules,
        classroom.sent,
        classroom.notebook,
        watch.site_path if watch is not None else None,
        tutor_file,
        classroom.log_path(rules),
    )
