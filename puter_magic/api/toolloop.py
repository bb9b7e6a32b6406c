"""What a reply asks for and what runs: the calls (:func:`calls_in`, either shape), each run
safely (:func:`run_call`), the results sent back, and the loop that does it step by step.

:func:`calls_in` reads the calls of a reply in either shape (OpenAI-style
``tool_calls[].function.arguments``, a JSON string; Claude-style ``tool_use`` parts and
stream lines, an ``input`` object) as :class:`ToolCall` objects, detected by their presence,
never by ``finish_reason``. :func:`run_call` runs one call safely: only a named tool, its
arguments bound to the signature first (a mismatch is an error result), an exception becomes
an error result, the result goes back as JSON where it can be, else as a size-capped ``repr``
(:func:`encode_result`). Nothing a model writes is ever evaluated.

:class:`ToolLoop` holds one loop's state and knows nothing of how a request is sent, so
the client (:func:`chat_with_tools`, :class:`ToolStream`) and the notebook (which shows
each call and streams each step itself) drive the same loop. A step is one request to
the model; the loop ends when a reply asks for no call, or after ``max_steps`` requests
(``step_limit_reached``: the last reply's calls are not run, since no request would
carry their results).

Sending results back follows the protocol for both server paths: the assistant turn is
repeated with ``tool_use`` parts whose ``input`` is an object, then one
``{"role": "tool", "tool_call_id", "content"}`` message per call.

Which steps stream (:meth:`ToolLoop.stream_next`): when a provider streams several calls at
once, Puter passes only the last one on (its OpenAI-compatible stream handler ends only the
last tool block; recorded: ``ollama-tools-two-calls-stream.json``), while a whole reply
carries them all. Nothing in such a stream says calls are missing, so a step that may ask
for calls is asked whole: the first one, where the model decides what to call. Once results
were sent the model mostly answers, and that answer streams; if a streamed step asks for
calls after all, they are not run: the same step is asked again whole
(:meth:`ToolLoop.discard`), one more request, so that every call the model asked for runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import enum
import inspect
import json
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, ClassVar

from .chat import ChatReply, ChatStream, Messages, chat_reply, normalize_messages
from .chunks import Chunk
from .errors import MalformedResponse
from .humanize import plural
from .tools import ArgumentError, Tool, bind, tools_by_name

__all__ = [
    "BAD_ARGUMENTS",
    "FAILED",
    "MAX_RESULT_CHARS",
    "OK",
    "REFUSED",
    "SKIPPED",
    "UNKNOWN",
    "ToolCall",
    "ToolLoop",
    "ToolReply",
    "ToolResultChunk",
    "ToolRun",
    "ToolStepLimit",
    "ToolStream",
    "calls_in",
    "chat_with_tools",
    "encode_result",
    "run_call",
    "split_tools",
    "summarize",
]

# -- the calls a reply asks for, and what comes of them -----------------------------------------

MAX_RESULT_CHARS = 20_000  # what one result may add to the next request


@dataclass
class ToolCall:
    """One call the model asked for: its id, the tool's name and the arguments (an object).

    ``problem`` says why the arguments could not be read (not JSON, not an object); such a
    call is answered with an error result and never run.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # echoed back (extra_content)

    def as_part(self) -> dict[str, Any]:
        """The ``tool_use`` part that repeats this call in the assistant turn sent back."""
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": self.arguments, **self.extra}

    def label(self, limit: int = 120) -> str:
        """``describe(n=5)``, with long values shortened."""
        parts = []
        for key, value in self.arguments.items():
            text = json.dumps(value, ensure_ascii=False, default=str)
            parts.append(f"{key}={text if len(text) <= 40 else text[:39] + '…'}")
        label = f"{self.name}({', '.join(parts)})"
        return label if len(label) <= limit else label[: limit - 2] + "…)"


def _call(raw: Any, index: int) -> ToolCall | None:
    if not isinstance(raw, Mapping):
        for attr in ("id", "name"):  # a call object another module made
            if not hasattr(raw, attr):
                return None
        raw = {"id": raw.id, "name": raw.name, "input": getattr(raw, "arguments", getattr(raw, "input", {}))}
    function = raw.get("function")
    if isinstance(function, Mapping):  # OpenAI: arguments is a JSON string
        name, arguments = function.get("name"), function.get("arguments")
    else:  # Claude and Puter's stream lines: input is an object (a string in Puter's internal shape)
        name, arguments = raw.get("name"), raw.get("input", raw.get("arguments"))
    ident = raw.get("id")
    call = ToolCall(
        ident if isinstance(ident, str) and ident else f"call_{index}",
        name if isinstance(name, str) else "",
    )
    if isinstance(raw.get("extra_content"), Mapping):
        call.extra = {"extra_content": dict(raw["extra_content"])}
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return call
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError) as exc:
            call.problem = f"the arguments are not valid JSON ({type(exc).__name__})"
            return call
    if not isinstance(arguments, dict):
        call.problem = f"the arguments must be a JSON object, not {type(arguments).__name__}"
        return call
    call.arguments = arguments
    return call


def calls_in(source: Any) -> list[ToolCall]:
    """The calls a reply asks for, in order: from a ChatReply, a ChatStream, a result dict,
    or a list of raw calls of either shape. Detected by their presence, never by
    ``finish_reason`` (Claude's stays "stop")."""
    raw_calls = getattr(source, "tool_calls", None)
    if raw_calls is None and isinstance(source, list):
        raw_calls = source
    raw_calls = list(raw_calls or [])
    if not raw_calls:
        raw_calls = _raw_calls(getattr(source, "raw", source))
    calls: list[ToolCall] = []
    seen: dict[str, ToolCall] = {}
    for raw in raw_calls:
        call = _call(raw, len(calls) + 1)
        if call is None:
            continue
        twin = seen.get(call.id)
        if twin is not None:
            if (twin.name, twin.arguments) == (call.name, call.arguments):
                continue  # the same call read twice (a part and its normalized copy)
            call.id = f"{call.id}_{len(calls) + 1}"  # each result must answer one call
        seen[call.id] = call
        calls.append(call)
    return calls


def _raw_calls(result: Any) -> list[Any]:
    """Calls read straight from a ``complete`` result of any shape (as :func:`chat_reply` reads them)."""
    if not isinstance(result, Mapping):
        return []
    try:
        return chat_reply(result).tool_calls
    except MalformedResponse:
        return []


# -- results -------------------------------------------------------------------------------------------


def summarize(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool | int | float):
        text = repr(value)
    elif isinstance(value, str):
        if len(value) <= 40 and "\n" not in value:
            return json.dumps(value, ensure_ascii=False)
        return f"{len(value):,} characters"
    elif isinstance(value, list | tuple | Mapping):
        rows = isinstance(value, list | tuple) and bool(value) and all(isinstance(v, Mapping) for v in value)
        if not rows:  # a short value says more than its length: ["Rome", "Lima"]
            short = encode_result(value)
            if len(short) <= 40:
                return short
        word = "row" if rows else "item" if isinstance(value, list | tuple) else "key"
        return f"{len(value):,} {word}{'' if len(value) == 1 else 's'}"
    else:
        length = getattr(value, "__len__", None)
        text = type(value).__name__ + (f" of {len(value):,}" if callable(length) else "")
    return text if len(text) <= 40 else text[:39] + "…"


def _jsonable(value: Any) -> Any:
    """``default=`` for json.dumps: what has one obvious JSON form; else TypeError."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, PurePath):
        return str(value)
    for method in ("tolist", "item"):  # numpy arrays and scalars
        convert = getattr(value, method, None)
        if callable(convert) and type(value).__module__.split(".")[0] == "numpy":
            return convert()
    raise TypeError(type(value).__name__)


def cap(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [cut: {len(text):,} characters in all]"


def encode_result(value: Any) -> str:
    """What the model is sent for a result: a string as it is, JSON where it can be, else a
    capped ``repr``; never more than :data:`MAX_RESULT_CHARS` characters."""
    if isinstance(value, str):
        return cap(value)
    try:
        return cap(json.dumps(value, ensure_ascii=False, allow_nan=False, default=_jsonable))
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return cap(repr(value))
    except Exception:
        return f"<a {type(value).__name__} that could not be shown>"


OK, FAILED, REFUSED, UNKNOWN = "ok", "failed", "refused", "unknown"
BAD_ARGUMENTS, SKIPPED = "bad-arguments", "skipped"


@dataclass
class ToolRun:
    """A call and what came of it: ``status`` is ok, failed (it raised), refused (not
    approved), unknown (no such tool), bad-arguments, or skipped (the step limit)."""

    call: ToolCall
    status: str
    value: Any = None  # what the function returned (ok)
    content: str = ""  # what was sent back to the model
    error: str | None = None

    @property
    def name(self) -> str:
        return self.call.name

    @property
    def arguments(self) -> dict[str, Any]:
        return self.call.arguments

    @property
    def result(self) -> Any:
        return self.value

    def summary(self) -> str:
        """``5 rows``, ``failed: ValueError: ...``: the short outcome for one line."""
        if self.status == OK:
            return summarize(self.value)
        if self.status == REFUSED:
            return "refused: it did not run"
        if self.status == SKIPPED:
            return "not run: the step limit was reached"
        if self.status == UNKNOWN:
            return "unknown tool: it did not run"
        return f"{self.status.replace('-', ' ')}: {self.error or ''}".rstrip(": ")

    def message(self) -> dict[str, Any]:
        """The ``tool`` message that answers the call."""
        return {"role": "tool", "tool_call_id": self.call.id, "content": self.content}


def run_call(
    call: ToolCall,
    tools: Mapping[str, Tool],
    approve: Callable[[ToolCall], bool] | None = None,
) -> ToolRun:
    """Run *call* if it names one of *tools*, its arguments fit and *approve* (if given)
    says yes. Whatever happens, the returned run carries the content for the model.
    KeyboardInterrupt and SystemExit propagate (the interrupt stops the loop at once)."""
    spec = tools.get(call.name)
    if spec is None:
        names = ", ".join(tools) or "none"
        error = f"there is no tool named {call.name!r}"
        return ToolRun(call, UNKNOWN, content=f"Error: {error}; the tools are: {names}.", error=error)
    if call.problem is not None:
        return ToolRun(call, BAD_ARGUMENTS, content=f"Error: {call.problem}.", error=call.problem)
    try:
        bound = bind(spec, call.arguments)
    except ArgumentError as exc:
        error = str(exc)
        content = f"Error: bad arguments for {spec.name}: {error}. Call it as {spec.describe()}."
        return ToolRun(call, BAD_ARGUMENTS, content=content, error=error)
    if approve is not None and not approve(call):
        return ToolRun(call, REFUSED, content="The user refused this call: it did not run.")
    try:
        value = spec.function(*bound.args, **bound.kwargs)
    except Exception as exc:
        error = cap(f"{type(exc).__name__}: {exc}", 2000)
        return ToolRun(call, FAILED, content=f"Error: {error}", error=error)
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if callable(close):
            close()
        error = "the function returned an awaitable; tools must be plain functions"
        return ToolRun(call, FAILED, content=f"Error: {error}", error=error)
    return ToolRun(call, OK, value=value, content=encode_result(value))


# -- the loop ---------------------------------------------------------------------------------------

Approve = Callable[[ToolCall], bool]
ToolLike = Callable[..., Any] | Tool | Mapping[str, Any]


class ToolStepLimit(UserWarning):
    """The model was still calling tools when ``max_steps`` requests had been made."""


@dataclass
class ToolReply(ChatReply):
    """A chat reply reached through tool calls: the final answer, and how it was reached.

    ``calls``: every call in order, with its arguments, status and result; ``turns``: the
    assistant's calls and the results as they were sent (to continue the conversation);
    ``steps``: requests made; ``usage``: summed over them.
    """

    calls: list[ToolRun] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list, repr=False)
    steps: int = 0
    step_limit_reached: bool = False


@dataclass(slots=True)
class ToolResultChunk(Chunk):
    """Yielded by a :class:`ToolStream` after a call ran (it is not a line Puter sends)."""

    type: ClassVar[str] = "tool_result"
    run: ToolRun


def split_tools(items: Sequence[ToolLike]) -> tuple[dict[str, Tool], list[dict[str, Any]]]:
    """Functions become tools the loop runs; ready-made definitions (dicts) pass through
    untouched, as ``tools=`` did before functions were accepted. Not both at once."""
    definitions = [dict(i) for i in items if isinstance(i, Mapping)]
    if definitions and len(definitions) != len(items):
        raise TypeError("tools= takes functions or ready-made definitions (dicts), not both")
    if definitions:
        return {}, definitions
    return tools_by_name(i for i in items if not isinstance(i, Mapping)), []


def add_usage(total: Mapping[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """Two usage dicts summed key by key (numbers add up; ``None`` counts as unknown)."""
    out = dict(total)
    for key, value in more.items():
        old = out.get(key)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and isinstance(old, int | float) and not isinstance(old, bool):
            out[key] = old + value
        elif old is None:
            out[key] = value
    return out


class ToolLoop:
    """One function-calling loop: what to send next, and what each reply asked for.

    Args:
        messages: the conversation so far (the last message is usually the question).
        tools: the tools by name (:func:`~puter_magic.api.tools.tools_by_name`).
        max_steps: the most requests the loop makes.
        approve: asked before each call that would run; False refuses it.
        before_call: told of each call before it is approved and run (to show it).
        after_call: told of each call's outcome.
    """

    def __init__(
        self,
        messages: Messages,
        tools: Mapping[str, Tool],
        *,
        max_steps: int = 8,
        approve: Approve | None = None,
        before_call: Callable[[ToolCall], None] | None = None,
        after_call: Callable[[ToolRun], None] | None = None,
    ) -> None:
        if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
            raise ValueError("max_steps must be a positive whole number")
        self.base = normalize_messages(messages)
        self.tools = dict(tools)
        self.max_steps = max_steps
        self.approve = approve
        self.before_call = before_call
        self.after_call = after_call
        self.turns: list[dict[str, Any]] = []
        self.runs: list[ToolRun] = []
        self.steps = 0
        self.usage: dict[str, Any] = {}
        self.reasoning = ""
        self.step_limit_reached = False
        self._whole_next = False  # a streamed step asked for calls: ask it again whole

    def messages(self) -> list[dict[str, Any]]:
        """What the next request sends: the conversation, then every call and result so far."""
        return [*self.base, *self.turns]

    def definitions(self) -> list[dict[str, Any]]:
        return [t.definition() for t in self.tools.values()]

    def stream_next(self) -> bool:
        """Whether the next request may stream: not while it may ask for calls that a stream
        could lose (the first step, and a step asked again whole); yes once results were sent
        (see the module's doc)."""
        return bool(self.turns) and not self._whole_next

    def discard(self, calls: list[ToolCall], usage: Mapping[str, Any]) -> bool:
        """A streamed step asked for *calls*: its stream may have carried only the last of
        several, so they are not run and the same step is asked again whole. The request
        counts (as a step, and its usage); False when the step limit leaves no room to ask
        again (the calls are then skipped, as at the limit)."""
        self.steps += 1
        self.usage = add_usage(self.usage, usage)
        if self.steps >= self.max_steps:
            self.step_limit_reached = True
            for call in calls:
                self._done(ToolRun(call, SKIPPED))
            return False
        self._whole_next = True
        return True

    def take(self, text: str, calls: list[ToolCall], usage: Mapping[str, Any], reasoning: str = "") -> bool:
        """Account for one reply and run the calls it asks for, in order; True when the
        results must be sent in another request."""
        self._whole_next = False
        self.steps += 1
        self.usage = add_usage(self.usage, usage)
        self.reasoning += reasoning
        if not calls:
            return False
        if self.steps >= self.max_steps:
            self.step_limit_reached = True
            for call in calls:
                self._done(ToolRun(call, SKIPPED))
            return False
        parts = [{"type": "text", "text": text}] if text.strip() else []
        self.turns.append({"role": "assistant", "content": [*parts, *(c.as_part() for c in calls)]})
        for call in calls:
            if self.before_call is not None:
                self.before_call(call)
            run = run_call(call, self.tools, self.approve)
            self.turns.append(run.message())
            self._done(run)
        return True

    def _done(self, run: ToolRun) -> None:
        self.runs.append(run)
        if self.after_call is not None:
            self.after_call(run)

    def reply(self, last: ChatReply) -> ToolReply:
        """The final :class:`ToolReply`, built on the last reply."""
        return ToolReply(
            text=last.text,
            model=last.model,
            usage=dict(self.usage),
            reasoning=self.reasoning,
            tool_calls=list(last.tool_calls),
            finish_reason=last.finish_reason,
            raw=last.raw,
            calls=list(self.runs),
            turns=[dict(t) for t in self.turns],
            steps=self.steps,
            step_limit_reached=self.step_limit_reached,
        )

    def limit_message(self) -> str:
        return (
            f"the model was still calling tools after {plural(self.max_steps, 'step')}, so its answer is "
            "incomplete; allow more with max_steps="
        )


def _warn_limit(loop: ToolLoop, stacklevel: int) -> None:
    if loop.step_limit_reached:
        warnings.warn(f"{loop.limit_message()}{loop.max_steps * 2}", ToolStepLimit, stacklevel=stacklevel)


def chat_with_tools(
    send: Callable[[list[dict[str, Any]], list[dict[str, Any]]], ChatReply],
    messages: Messages,
    tools: Mapping[str, Tool],
    *,
    max_steps: int = 8,
    approve: Approve | None = None,
) -> ToolReply:
    """Run the loop with *send(messages, definitions)* making one non-streamed request."""
    loop = ToolLoop(messages, tools, max_steps=max_steps, approve=approve)
    while True:
        reply = send(loop.messages(), loop.definitions())
        if not loop.take(reply.text, calls_in(reply), reply.usage, reply.reasoning):
            break
    _warn_limit(loop, 4)  # the caller of PuterClient.chat
    return loop.reply(reply)


class ToolStream:
    """The streaming twin of :func:`chat_with_tools`: iterate for the chunks of every step.

    Steps stream as :meth:`ToolLoop.stream_next` allows; a step asked whole gives its chunks
    at once (reasoning, text, one ``tool_use`` chunk per call, usage). Text, reasoning,
    ``tool_use`` and usage chunks come as Puter sends them (a streamed step's ``tool_use``
    chunks are held back: that step is asked again whole, see :meth:`ToolLoop.discard`);
    after each call has run, a :class:`ToolResultChunk` follows. ``text`` is the current
    step's text (the final answer once the loop ends), ``calls`` the calls so far;
    ``reply()`` reads to the end and returns the :class:`ToolReply`. The first request is
    made at once, so its errors are raised by the constructor; ``close()`` (or leaving a
    ``with`` block, or an interrupt) closes whichever stream is open.
    """

    def __init__(
        self,
        open_stream: Callable[[list[dict[str, Any]], list[dict[str, Any]]], ChatStream],
        loop: ToolLoop,
        ask_whole: Callable[[list[dict[str, Any]], list[dict[str, Any]]], ChatReply] | None = None,
    ) -> None:
        self._open = open_stream
        self._ask_whole = ask_whole
        self.loop = loop
        self.current: ChatStream = self._next_step()
        self.model = self.current.model
        self.done = False
        self._taken = False  # the current step's usage is in the loop's already
        self._chunks: Generator[Chunk, None, None] | None = None

    def _next_step(self) -> ChatStream:
        """The next request: streamed, or asked whole and given as chunks."""
        self._streamed = self._ask_whole is None or self.loop.stream_next()
        if self._streamed:
            return self._open(self.loop.messages(), self.loop.definitions())
        assert self._ask_whole is not None
        return ChatStream.of_reply(self._ask_whole(self.loop.messages(), self.loop.definitions()))

    @property
    def text(self) -> str:
        return self.current.text

    @property
    def calls(self) -> list[ToolRun]:
        return list(self.loop.runs)

    @property
    def usage(self) -> dict[str, Any]:
        return add_usage(self.loop.usage, {} if self._taken else self.current.usage)

    def __iter__(self) -> Iterator[Chunk]:
        if self._chunks is None:
            self._chunks = self._steps()
        return self._chunks

    def _steps(self) -> Generator[Chunk, None, None]:
        while True:
            ran: list[ToolRun] = []
            self.loop.after_call = ran.append
            current, held = self.current, self._streamed and self._ask_whole is not None
            try:
                for chunk in current:
                    if not (held and chunk.type == "tool_use"):
                        yield chunk
                calls = calls_in(current)
                if held and calls:
                    more = self.loop.discard(calls, current.usage)
                else:
                    more = self.loop.take(current.text, calls, current.usage, current.reasoning)
                self._taken = True
            finally:
                current.close()
            for run in ran:
                yield ToolResultChunk(run)
            if not more:
                break
            self.current = self._next_step()
            self._taken = False
        self.done = True
        _warn_limit(self.loop, 3)  # the loop that iterates the stream

    def reply(self) -> ToolReply:
        for _ in self:
            pass
        return self.loop.reply(
            ChatReply(text=self.current.text, model=self.model, tool_calls=list(self.current.tool_calls))
        )

    def close(self) -> None:
        self.current.close()
        if self._chunks is not None:
            with contextlib.suppress(ValueError):  # "generator already executing" (another thread)
                self._chunks.close()

    def __enter__(self) -> ToolStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ToolStream model={self.model!r} calls={len(self.loop.runs)} done={self.done}>"
