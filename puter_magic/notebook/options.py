"""A magic's line read into its options: every option of ``%%puter`` declared once, read once,
checked once.

- The line form of the free-text magics, ``%puter [options] QUESTION``: :func:`split_options`
  takes the options off the front of the line, one token at a time, and leaves the question
  exactly as typed; :func:`ask_not_help` is an input transformer that keeps IPython's help
  syntax (a line ending in ``?``) from taking ``%puter What is a list?`` for a help request.
- :func:`parse_line` reads a magic's line as a shell would (quotes group words).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

__all__ = [
    "EFFORTS",
    "FREE_TEXT_MAGICS",
    "VERBOSITIES",
    "ask_not_help",
    "asked_for",
    "model_options",
    "parse_line",
    "puter_options",
    "split_options",
]

# -- %%puter's options ------------------------------------------------------------------------------

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
        from ..api.search import with_web_search

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


# -- reading a line ---------------------------------------------------------------------------------


def parse_line(magic: Any, line: str) -> Any:
    """Parse *line* with *magic*'s ``@argument`` declarations; quotes group words and are
    removed (IPython's own ``parse_argstring`` keeps them). Bad options are a UsageError."""
    import shlex

    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"could not read the options: {exc}") from None
    return magic.parser.parse_args(argv)


# -- the line form ----------------------------------------------------------------------------------

#: Line magics whose argument is free text for a model; a ``?`` at the end is part of it.
FREE_TEXT_MAGICS = frozenset({"puter", "puter_image", "puter_speak"})

# A line magic with arguments: indentation, %name, one space, the rest (IPython's own split).
_MAGIC_LINE = re.compile(r"(?P<indent>[ \t]*)%(?P<name>\w+) ")


def ask_not_help(lines: list[str]) -> list[str]:
    """Input transformer: ``%puter ...?`` asks instead of asking IPython for help.

    Rewrites only lines of code that are one of :data:`FREE_TEXT_MAGICS` with arguments and
    end in ``?``; ``%puter?`` and ``%puter??`` (help), other magics, the body of a ``%%cell``
    magic and text inside strings or brackets are left alone.
    """
    if not lines or lines[0].startswith("%%"):
        return lines  # a cell magic: what follows its first line is text, not code
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _MAGIC_LINE.match(lines[i])
        if match and match["name"] in FREE_TEXT_MAGICS:
            end = i
            while lines[end].endswith("\\\n") and end + 1 < len(lines):
                end += 1
            body = lines[end].rstrip("\r\n")
            pieces = [line.rstrip()[:-1] for line in lines[i:end]] + [body.rstrip()]
            logical = " ".join(pieces)[len(match["indent"]) :]
            if logical.endswith("?") and _between_statements(out):
                _, _, args = logical[1:].partition(" ")
                call = f"get_ipython().run_line_magic({match['name']!r}, {args!r})"
                out.append(match["indent"] + call + lines[end][len(body) :])
                i = end + 1
                continue
        out.append(lines[i])
        i += 1
    return out


def _between_statements(before: list[str]) -> bool:
    """True if the code *before* a line leaves no string, bracket or continuation open."""
    if not before:
        return True
    import io
    import tokenize

    from IPython.core.inputtransformer2 import TransformerManager

    try:
        code = TransformerManager().transform_cell("".join(before))
        for _ in tokenize.generate_tokens(io.StringIO(code).readline):
            pass
    except (SyntaxError, tokenize.TokenError):
        return False
    return True


# One shell word: unquoted characters and quoted runs, up to whitespace.
_WORD = re.compile(r"""(?:[^\s'"]+|"[^"]*"|'[^']*')+""")
_NEGATIVE_NUMBER = re.compile(r"-\d+(?:\.\d*)?|-\.\d+")


def split_options(magic: Any, line: str) -> tuple[list[str], str]:
    """Split ``[options] QUESTION`` into the options' words and the question as typed.

    The options end at the first word that is not an option (or at ``--``); whether an option
    takes a value comes from the magic's own argument parser. An unknown or ambiguous option is
    a ``UsageError``, so options never reach the model as text.
    """
    actions = magic.parser._option_string_actions  # argparse's table: option string -> action
    words: list[str] = []
    pos = 0
    wants_value = False
    while True:
        while pos < len(line) and line[pos].isspace():
            pos += 1
        if pos == len(line):
            break
        start = line[pos:].split(None, 1)[0]
        if not wants_value:
            if start == "--":
                pos += 2
                break
            if not start.startswith("-") or start == "-" or _NEGATIVE_NUMBER.fullmatch(start):
                break
        word = _WORD.match(line, pos)
        if word is None or (word.end() < len(line) and not line[word.end()].isspace()):
            raise UsageError(f"could not read the options: no closing quote after {line[pos : pos + 20]!r}")
        pos = word.end()
        text = shlex.split(word.group())[0]
        words.append(text)
        if wants_value:
            wants_value = False
            continue
        option, equals, _ = text.partition("=")
        action = _action(actions, option)
        if action is None and not option.startswith("--") and option[:2] in actions:
            action, equals = actions[option[:2]], "attached"  # -mMODEL
        if action is None:
            raise UsageError(
                f"unknown option {option} (see %puter?); to ask about it, put -- before the question"
            )
        wants_value = action.nargs != 0 and not equals
    return words, line[pos:].strip()


def _action(actions: dict[str, Any], option: str) -> Any:
    if option in actions:
        return actions[option]
    if not option.startswith("--"):
        return None
    matches = sorted({s for s in actions if s.startswith(option)})
    if len(matches) > 1:
        raise UsageError(f"ambiguous option {option}: could be {', '.join(matches)}")
    return actions[matches[0]] if matches else None
