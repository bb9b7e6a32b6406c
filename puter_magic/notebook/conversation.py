"""Conversation threads of a notebook (plain objects; no IPython, no network).

A thread is a list of exchanges (a user message and the reply to it). Each exchange
remembers the cell that made it, so running a cell again *replaces* that cell's exchange
in place instead of adding a duplicate:

- the request made by the re-run sends only the exchanges *before* that cell's one, as
  running the notebook from the top would;
- the exchanges after it stay where they are (their cells' outputs are still on screen,
  and the model keeps seeing them); re-run those cells to refresh them;
- the replaced exchange is kept in ``thread.replaced``, so nothing is lost.

Without a cell id (terminal IPython), running the same text again right after it
replaces the last exchange (a retry); anything else is appended.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..api.humanize import plural

__all__ = ["Conversations", "Exchange", "Placement", "Thread"]

DEFAULT_THREAD = "default"
FORMAT = "puter-magic/thread"
VERSION = 1


@dataclass
class Exchange:
    """One question and the reply to it."""

    user: str
    assistant: str
    model: str | None = None
    system: str | None = None
    cell_id: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    interrupted: bool = False
    # The tool calls on the way to the answer (%%puter --tools): assistant turns with
    # tool_use parts and the tool results, sent again between the question and the answer.
    turns: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exchange:
        if not isinstance(data, dict) or not isinstance(data.get("user"), str):
            raise ValueError("an exchange needs a 'user' string")
        if not isinstance(data.get("assistant"), str):
            raise ValueError("an exchange needs an 'assistant' string")
        turns = data.get("turns", [])
        if not isinstance(turns, list) or not all(
            isinstance(t, dict) and t.get("role") in ("assistant", "tool") for t in turns
        ):
            raise ValueError("an exchange's 'turns' must be assistant and tool messages")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Placement:
    """Where a new exchange will go: appended, or replacing the one at ``index``."""

    index: int | None  # None: append
    later: int = 0  # exchanges after the replaced one


@dataclass
class Thread:
    """A named conversation."""

    name: str = DEFAULT_THREAD
    exchanges: list[Exchange] = field(default_factory=list)
    replaced: list[Exchange] = field(default_factory=list)
    system: str | None = None  # the last system prompt given with -s; used until changed

    def place(self, cell_id: str | None, user: str) -> Placement:
        """Decide where an exchange from this cell would go (nothing changes yet)."""
        if cell_id is not None:
            for i, ex in enumerate(self.exchanges):
                if ex.cell_id == cell_id:
                    return Placement(i, len(self.exchanges) - i - 1)
            return Placement(None)
        if self.exchanges and self.exchanges[-1].cell_id is None and self.exchanges[-1].user == user:
            return Placement(len(self.exchanges) - 1, 0)
        return Placement(None)

    def messages(
        self,
        user: str,
        *,
        placement: Placement | None = None,
        system: str | None = None,
        window: int | None = None,
        tool_turns: bool = True,
    ) -> list[dict[str, Any]]:
        """The messages to send: system prompt, past exchanges (at most *window*), *user*.

        With a placement that replaces an exchange, only the exchanges before it count.
        Past tool calls are sent as they were (the assistant's ``tool_use`` turns and the
        results) when this request offers tools too; otherwise, as text at the head of the
        answer (some providers refuse tool blocks in a request that defines no tools).
        """
        past = self.exchanges
        if placement is not None and placement.index is not None:
            past = past[: placement.index]
        if window is not None:
            past = past[-window:] if window > 0 else []
        out: list[dict[str, Any]] = []
        prompt = system if system is not None else self.system
        if prompt:
            out.append({"role": "system", "content": prompt})
        for ex in past:
            out.append({"role": "user", "content": ex.user})
            if tool_turns:
                out.extend(ex.turns)
            answer = (
                ex.assistant if tool_turns or not ex.turns else f"{calls_as_text(ex.turns)}\n\n{ex.assistant}"
            )
            out.append({"role": "assistant", "content": answer})
        out.append({"role": "user", "content": user})
        return out

    def record(self, exchange: Exchange, placement: Placement) -> None:
        """Store a finished exchange where *placement* says."""
        if placement.index is not None and placement.index < len(self.exchanges):
            self.replaced.append(self.exchanges[placement.index])
            self.exchanges[placement.index] = exchange
        else:
            self.exchanges.append(exchange)

    def reset(self) -> None:
        self.exchanges.clear()
        self.replaced.clear()
        self.system = None

    # -- files ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "system": self.system,
            "exchanges": [asdict(ex) for ex in self.exchanges],
            "replaced": [asdict(ex) for ex in self.replaced],
        }

    @classmethod
    def from_json(cls, data: Any, name: str | None = None) -> Thread:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a puter-magic thread file (expected format {FORMAT!r})")
        exchanges = data.get("exchanges")
        if not isinstance(exchanges, list):
            raise ValueError("the thread file has no list of exchanges")
        system = data.get("system")
        return cls(
            name=name or str(data.get("name") or DEFAULT_THREAD),
            exchanges=[Exchange.from_dict(e) for e in exchanges],
            replaced=[Exchange.from_dict(e) for e in data.get("replaced") or []],
            system=system if isinstance(system, str) else None,
        )

    def save(self, path: str | Path) -> Path:
        target = Path(path).expanduser()
        target.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
        return target

    @classmethod
    def load(cls, path: str | Path, name: str | None = None) -> Thread:
        source = Path(path).expanduser()
        return cls.from_json(json.loads(source.read_text()), name)

    def transcript(self, title: str = "Thread") -> str:
        """The thread as Markdown (model text kept as Markdown; the renderer makes it safe),
        headed *title* and the thread's name."""
        if not self.exchanges:
            return f"*{title} **{self.name}** is empty.*"
        lines = [f"**{title} {self.name}**: {plural(len(self.exchanges), 'exchange')}"]
        if self.system:
            lines.append(f"\n*System prompt:* {self.system}")
        for i, ex in enumerate(self.exchanges, 1):
            model = f" · {ex.model}" if ex.model else ""
            mark = " (interrupted)" if ex.interrupted else ""
            calls = tool_lines(ex.turns)
            lines.append(
                f"\n---\n\n### {i}. You\n\n{demote_headings(ex.user)}\n\n{calls}"
                f"### Assistant{model}{mark}\n\n{demote_headings(ex.assistant)}"
            )
        if self.replaced:
            lines.append(
                f"\n---\n\n*{plural(len(self.replaced), 'earlier reply', 'earlier replies')} "
                f"{'was' if len(self.replaced) == 1 else 'were'} replaced by re-runs; "
                "see them with `%puter_history --replaced`.*"
            )
        return "\n".join(lines)


_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def demote_headings(text: str) -> str:
    """*text* with its Markdown headings three levels down (at most ``######``), so that a
    transcript's "You" and "Assistant" headings (level 3) outrank a reply's own; code
    blocks are left as they are."""
    out = []
    fence: str | None = None
    for line in text.split("\n"):
        opened = _FENCE_LINE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
        elif fence is not None and opened and opened.group(1).startswith(fence):
            fence = None
        elif fence is None:
            line = _HEADING.sub(lambda m: m.group(1) + "#" * min(6, len(m.group(2)) + 3), line)
        out.append(line)
    return "\n".join(out)


def _code(text: str) -> str:
    """*text* as inline Markdown code, whatever backticks it holds."""
    text = " ".join(text.split())
    run = 0
    longest = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * (longest + 1)
    return f"{ticks} {text} {ticks}"


def _calls(turns: list[dict[str, Any]], limit: int) -> list[tuple[str, str]]:
    """(``describe(n=2)``, its result cut to *limit*) for each call of an exchange."""
    results = {t.get("tool_call_id"): t.get("content") for t in turns if t.get("role") == "tool"}
    out = []
    for turn in turns:
        content = turn.get("content")
        for part in content if turn.get("role") == "assistant" and isinstance(content, list) else []:
            if not isinstance(part, dict) or part.get("type") != "tool_use":
                continue
            given = part.get("input")
            args: dict[str, Any] = given if isinstance(given, dict) else {}
            pairs = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in args.items())
            result = results.get(part.get("id"))
            text = result if isinstance(result, str) else json.dumps(result, default=str)
            out.append(
                (f"{part.get('name')}({pairs})"[:200], text if len(text) <= limit else text[:limit] + "…")
            )
    return out


def tool_lines(turns: list[dict[str, Any]], limit: int = 120) -> str:
    """The calls of an exchange as a Markdown list (for the transcript), or ''."""
    items = [f"- called {_code(label)} → {_code(text)}" for label, text in _calls(turns, limit)]
    return ("*Tools:*\n\n" + "\n".join(items) + "\n\n") if items else ""


def calls_as_text(turns: list[dict[str, Any]], limit: int = 2000) -> str:
    """The calls of an exchange as plain text, for a request that offers no tools."""
    return "\n".join(f"[I called {label}; it returned: {text}]" for label, text in _calls(turns, limit))


class Conversations:
    """The threads of one notebook, by name."""

    def __init__(self) -> None:
        self.threads: dict[str, Thread] = {}

    def get(self, name: str | None = None) -> Thread:
        key = name or DEFAULT_THREAD
        if key not in self.threads:
            self.threads[key] = Thread(key)
        return self.threads[key]

    def reset(self, name: str | None = None) -> None:
        self.threads.pop(name or DEFAULT_THREAD, None)

    def reset_all(self) -> None:
        self.threads.clear()

    def put(self, thread: Thread) -> None:
        self.threads[thread.name] = thread

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}: {len(t.exchanges)}" for n, t in self.threads.items())
        return f"<Conversations {sizes or 'empty'}>"
