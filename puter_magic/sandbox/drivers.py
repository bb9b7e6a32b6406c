"""``POST /drivers/call``: which interface, driver and method, and Puter's answer to it.

Chat (``puter-chat-completion``) is answered here from the models (:mod:`.models`, their
replies :mod:`.replies`, the tool-calling agents :mod:`.tools`); the media interfaces by
:mod:`.media`. Errors come in the current shape (a real status, a flat body) or, with
``error_style="legacy"``, the older HTTP 200 ``success: false`` one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from .faults import Replier
from .limits import COSTLY
from .media import MEDIA_INTERFACES, SERVICE, MediaFailure, MediaHost, answer
from .models import MODELS, SandboxModel, lookup
from .replies import result_envelope, stream_lines, wants_web_search, write_reply
from .tools import AgentError, AgentTurn, agent_turn

if TYPE_CHECKING:
    from .metering import Metering

__all__ = ["INTERFACES", "DriverFailure", "DriverHost", "drivers_call"]

LONGEST_STREAM = 5.0  # seconds a streamed reply takes at most (but sandbox-slow's, which is slow on purpose)

CHAT = "puter-chat-completion"
INTERFACES: dict[str, dict[str, Any]] = {
    CHAT: {"drivers": ["ai-chat"], "default": "ai-chat", "methods": ("complete", "list", "models")},
}
INTERFACES.update(MEDIA_INTERFACES)


# Older servers (v1) read `driver ?? service` and took every chat provider's name as an alias
# of ai-chat (puter-protocol.md §1 and §12); current ones read only `driver` and have no aliases.
LEGACY_CHAT_ALIASES = frozenset(
    {
        "fake-chat",
        "claude",
        "openai-completion",
        "openai-responses",
        "azure-openai",
        "gemini",
        "meta",
        "groq",
        "deepseek",
        "mistral",
        "xai",
        "moonshotai",
        "minimax",
        "zai",
        "alibaba",
        "ollama",
        "openrouter",
        "together-ai",
    }
)


class DriverFailure(Exception):
    """A driver-level error: answered as the current or the older generation."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        legacy_code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.legacy_code = legacy_code or code
        self.headers = headers or {}


class DriverHost(MediaHost, Protocol):
    """What answering a driver call needs of the sandbox: its error style, its accounts'
    metering, its pacing, and what the media interfaces need."""

    error_style: str
    metering: Metering
    think_time: float
    pace: float
    slow_pace: float | None


class Answerer(Replier, Protocol):
    """What answering a driver call needs of the request handler."""

    def json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None: ...
    def authorized(
        self, body: dict[str, Any] | None, query: dict[str, list[str]], *, legacy: bool
    ) -> bool: ...
    def admit(self, iface: str, method: str) -> None: ...
    @property
    def token(self) -> str | None: ...


def drivers_call(h: Answerer, sandbox: DriverHost, raw: bytes, query: dict[str, list[str]]) -> None:
    """Answer ``POST /drivers/call`` as Puter does."""
    legacy = sandbox.error_style == "legacy"
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        _fail(h, DriverFailure(400, "client_bad_json", "Malformed JSON in request body"), False)
        return
    if not isinstance(body, dict):
        body = {}
    if not h.authorized(body, query, legacy=legacy):
        return
    try:
        _dispatch(h, sandbox, body, legacy)
    except DriverFailure as failure:
        _fail(h, failure, legacy)


def _fail(h: Answerer, failure: DriverFailure, legacy: bool) -> None:
    if legacy:
        h.json(
            200,
            {
                "success": False,
                "service": {"name": "ai-chat"},
                "error": {
                    "$": "heyputer:api/APIError",
                    "code": failure.legacy_code,
                    "message": failure.message,
                    "status": failure.status,
                },
            },
        )
    else:
        h.json(
            failure.status,
            {"error": failure.message, "message": failure.message, "code": failure.code},
            headers=failure.headers,
        )


def _dispatch(h: Answerer, sandbox: DriverHost, body: dict[str, Any], legacy: bool) -> None:
    iface = body.get("interface")
    method = body.get("method")
    driver = body.get("driver")
    if legacy and driver is None:  # a current server ignores `service` altogether
        driver = body.get("service")
    raw_args = body.get("args")
    args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
    if not isinstance(iface, str) or not iface:
        raise DriverFailure(400, "bad_request", "Missing or invalid `interface`")
    if not isinstance(method, str) or not method:
        raise DriverFailure(400, "bad_request", "Missing or invalid `method`")
    spec = INTERFACES.get(iface)
    if spec is None:
        raise DriverFailure(
            404, "not_found", f"Driver not found: {iface}:(no default)", "interface_not_found"
        )
    driver = driver or spec["default"]
    if legacy and iface == CHAT and driver in LEGACY_CHAT_ALIASES:
        driver = "ai-chat"
    if driver not in spec["drivers"]:
        raise DriverFailure(
            404,
            "not_found",
            f"Driver not found: {iface}:{driver}",
            "no_implementation_available",
        )
    if method not in spec["methods"]:
        raise DriverFailure(
            404,
            "not_found",
            f"Method '{method}' not found on driver '{iface}'",
            "method_not_found",
        )
    h.admit(iface, method)
    if (iface, method) in COSTLY and sandbox.metering.exhausted(h.token):  # Puter's credit gate
        raise DriverFailure(
            402, "insufficient_funds", "No usage left for request.", headers={"X-Needs-Upgrade": "true"}
        )
    if iface in MEDIA_INTERFACES:
        _media(h, sandbox, iface, method, driver, args)
    elif method == "list":
        h.json(200, {"success": True, "result": sorted(MODELS), "service": {"name": driver}})
    elif method == "models":
        h.json(
            200,
            {
                "success": True,
                "result": [m.catalogue_entry() for m in MODELS.values()],
                "service": {"name": driver},
            },
        )
    else:
        _complete(h, sandbox, args)


def _complete(h: Answerer, sandbox: DriverHost, args: dict[str, Any]) -> None:
    model = lookup(args.get("model"))
    if model is None:
        name = args.get("model")
        label = "undefined" if name is None else str(name)
        raise DriverFailure(400, "bad_request", f"Model not found: {label}", "model_not_found")
    messages = args.get("messages")
    if isinstance(messages, str) or not isinstance(messages, list):
        raise DriverFailure(500, "internal_error", "Internal Server Error")
    normalized = []
    for message in messages:
        if isinstance(message, str):
            message = {"role": "user", "content": message}
        bare = isinstance(message, dict) and (message.get("role") == "tool" or message.get("tool_calls"))
        if not isinstance(message, dict) or ("content" not in message and not bare):
            raise DriverFailure(400, "bad_request", "Each message must have a `content` property")
        normalized.append(message)
    if wants_web_search(args) and not model.web_search:  # as Puter answers for other providers
        raise DriverFailure(400, "bad_request", "web_search tool requires the OpenAI Responses provider")
    agent = _agent_turn(model, normalized, args)  # tool-calling models: sandbox/tools.py
    reply = agent.reply if agent else write_reply(model, normalized, args)
    limited = _charge(h, sandbox, model, reply.usage)
    if sandbox.think_time:
        h.wait(sandbox.think_time)
    if not args.get("stream"):
        envelope = agent.envelope() if agent else result_envelope(model, reply, args)
        if limited:  # this reply spent the last of the allowance (puter.js reads the flag)
            envelope.setdefault("metadata", {})["usage_limited"] = True
        h.json(200, envelope)
        return
    pace = model.pace if model.pace is not None else sandbox.pace
    if model.slow and sandbox.slow_pace is not None:
        pace = sandbox.slow_pace
    objects = list(agent.stream_lines() if agent else stream_lines(model, reply))
    if limited and objects:
        objects[-1] = {**objects[-1], "metadata": {"usage_limited": True}}
    lines = [json.dumps(o, separators=(",", ":")).encode() + b"\n" for o in objects]
    per_write = 1
    if not model.slow and pace * len(lines) > LONGEST_STREAM:  # a huge reply must not look hung:
        writes = max(1, int(LONGEST_STREAM / 0.01))  # several lines a write, 0.01 s apart
        per_write = -(-len(lines) // writes)
        pace = LONGEST_STREAM / -(-len(lines) // per_write)
    h.start_chunked(200, "application/x-ndjson")
    for i in range(0, len(lines), per_write):
        if i and not h.wait(pace):
            break
        h.chunk(b"".join(lines[i : i + per_write]))
    h.end_chunked()
    h.record_status(200)


def _charge(h: Answerer, sandbox: DriverHost, model: SandboxModel, usage: dict[str, Any]) -> bool:
    """Spend what a reply cost from the account's allowance; True when it spent the last."""
    cents = usage.get("usd_cents")
    if not isinstance(cents, (int, float)) or isinstance(cents, bool) or cents <= 0:
        return False
    tokens = sum(v for k, v in usage.items() if k.endswith("_tokens") and isinstance(v, int))
    return sandbox.metering.charge(h.token, f"{model.provider}:{model.id}:tokens", cents * 1_000_000, tokens)


def _agent_turn(
    model: SandboxModel, messages: list[dict[str, Any]], args: dict[str, Any]
) -> AgentTurn | None:
    if not model.tool_call:
        return None
    try:
        return agent_turn(model, messages, args)
    except AgentError as exc:
        raise DriverFailure(400, "bad_request", str(exc)) from None


def _media(
    h: Answerer, sandbox: DriverHost, iface: str, method: str, driver: str, args: dict[str, Any]
) -> None:
    try:
        reply = answer(sandbox, iface, method, driver, args)
    except MediaFailure as failure:
        raise DriverFailure(failure.status, failure.code, failure.message) from None
    units = reply.units
    limited = (
        sandbox.metering.charge_media(h.token, iface, method, units) if not args.get("test_mode") else False
    )
    if reply.hold:  # video: the request stays open while the provider works
        h.wait(reply.hold)
    if reply.body is None:
        envelope = {"success": True, "result": reply.result, "service": {"name": SERVICE[iface]}}
        if limited:
            envelope["metadata"] = {"usage_limited": True}
        h.json(200, envelope)
        return
    # Real providers stream audio: chunked, with the audio's own type and no envelope.
    h.start_chunked(200, reply.content_type)
    for start in range(0, len(reply.body), 16384):
        h.chunk(reply.body[start : start + 16384])
    h.end_chunked()
    h.record_status(200)
