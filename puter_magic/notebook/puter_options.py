"""The options of ``%%puter`` (and of ``%puter`` before its question), in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.magic_arguments import argument

__all__ = ["EFFORTS", "VERBOSITIES", "asked_for", "model_options", "puter_options"]

F = TypeVar("F", bound=Callable[..., Any])
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")  # puter.js 2.6.3's reasoning_effort
VERBOSITIES = ("low", "medium", "high")

ARGUMENTS = [
    argument(
        "-m",
        "--model",
        help="the model for this cell (default: the notebook's, see %%puter_models)",
    ),
    argument(
        "-s",
        "--system",
        help="a system prompt; it stays with the thread until changed ('' clears it)",
    ),
    argument("-t", "--temperature", type=float, help="sampling temperature"),
    argument("--max-tokens", type=int, help="the most tokens the reply may have"),
    argument("--chat", metavar="NAME", help="the conversation thread (default: 'default')"),
    argument("--new", action="store_true", help="start the thread afresh with this cell"),
    argument("--no-history", action="store_true", help="one-shot: send no history and record nothing"),
    argument("--out", metavar="VAR", help="also store the reply text in this variable"),
    argument("--raw", action="store_true", help="show the reply as plain text, not Markdown"),
    argument("--no-interpolate", action="store_true", help="send {name} as written"),
    argument("--no-stream", action="store_true", help="wait for the whole reply instead of streaming"),
    argument(
        "--compare",
        metavar="MODELS",
        help="ask several models (comma-separated) at once and show the replies side by side",
    ),
    argument("--keep", metavar="MODEL", help="with --compare: record this model's reply in the conversation"),
    argument(
        "--context",
        metavar="NAMES",
        help="add a short description of these variables (comma-separated) to the message",
    ),
    argument(
        "--tools",
        metavar="NAMES",
        help="let the model call these functions of the notebook (comma-separated); each call shows as "
        "a line above the answer",
    ),
    argument("--approve", action="store_true", help="with --tools: ask before each call"),
    argument(
        "--image",
        metavar="SOURCE",
        action="append",
        help="attach an image to the question: a file, an https URL, or a variable holding image "
        "bytes, a PIL image or a matplotlib figure (repeatable)",
    ),
    argument(
        "--each",
        metavar="NAME",
        help="ask the cell once per item of NAME (a list, tuple, pandas Series or DataFrame): "
        "{item}, or {column} of a DataFrame row, is filled in; --out gets the replies",
    ),
    argument("--fresh", action="store_true", help="with --each: ask every item again, not only those left"),
    argument(
        "--effort",
        choices=EFFORTS,
        help="how hard a reasoning model thinks (sent as reasoning_effort): " + ", ".join(EFFORTS),
    ),
    argument(
        "--verbosity",
        choices=VERBOSITIES,
        help="how much a reasoning model says: " + ", ".join(VERBOSITIES),
    ),
    argument(
        "--web",
        action="store_true",
        help="let the model search the web (Puter's web_search tool, for OpenAI's models); "
        "the pages it cites are listed under the answer",
    ),
    argument(
        "--code",
        action="store_true",
        help="put the reply's code blocks into a new cell below (not run); in a terminal, on the next prompt",
    ),
]


def puter_options(func: F) -> F:
    """Declare ``%%puter``'s options on *func* (under ``@magic_arguments()``), in the order
    ``%%puter?`` lists them."""
    for declared in reversed(ARGUMENTS):
        func = declared(func)
    return func


def model_options(args: Any) -> dict[str, Any]:
    """The options sent to the model as Puter takes them (``-t``, ``--max-tokens``,
    ``--effort`` as ``reasoning_effort``, ``--verbosity``, ``--web`` as the web_search tool)."""
    pairs = (
        ("temperature", args.temperature),
        ("max_tokens", args.max_tokens),
        ("reasoning_effort", getattr(args, "effort", None)),
        ("verbosity", getattr(args, "verbosity", None)),
    )
    options = {k: v for k, v in pairs if v is not None}
    if getattr(args, "web", False):
        from ..api.chat import with_web_search

        options["tools"] = with_web_search(None)
    return options


def asked_for(options: dict[str, Any]) -> list[str]:
    """What a reply's footer names of what was asked: ``effort high``, ``verbosity low``,
    ``web search``."""
    out = [f"effort {options['reasoning_effort']}"] if options.get("reasoning_effort") else []
    out += [f"verbosity {options['verbosity']}"] if options.get("verbosity") else []
    tools = options.get("tools")
    if isinstance(tools, list) and any(isinstance(t, dict) and t.get("type") == "web_search" for t in tools):
        out.append("web search")
    return out
