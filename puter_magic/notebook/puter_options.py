"""The options of ``%%puter`` (and of ``%puter`` before its question), in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.magic_arguments import argument

__all__ = ["model_options", "puter_options"]

F = TypeVar("F", bound=Callable[..., Any])

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
]


def puter_options(func: F) -> F:
    """Declare ``%%puter``'s options on *func* (under ``@magic_arguments()``), in the order
    ``%%puter?`` lists them."""
    for declared in reversed(ARGUMENTS):
        func = declared(func)
    return func


def model_options(args: Any) -> dict[str, Any]:
    """The options sent to the model as they are (``-t``, ``--max-tokens``)."""
    pairs = (("temperature", args.temperature), ("max_tokens", args.max_tokens))
    return {k: v for k, v in pairs if v is not None}
