"""A magic's line read into its options: read once, every clash checked once, into the typed
values the flows take (:class:`AskOptions` for ``%%puter``, :class:`LoginOptions`).

- :func:`parse_line` reads a magic's line as a shell would (quotes group words), with the
  parser its declarations in :mod:`.magics` describe (:func:`parser_of` builds it on first use).
- The line form of the free-text magics, ``%puter [options] QUESTION``: :func:`split_options`
  takes the options off the front of the line, one token at a time, and leaves the question
  exactly as typed.

The declarations (each magic's ``@argument`` lines, ``%%puter``'s among them) and the input
transformer that keeps ``%puter What is a list?`` from being a help request live with the
magics, which ``%load_ext`` loads; this module loads when a magic first reads its line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser, construct_parser

__all__ = [
    "SAFE_TOKEN_WAYS",
    "AskOptions",
    "LoginOptions",
    "asked_for",
    "given",
    "parse_line",
    "parser_of",
    "read_ask",
    "read_login",
    "read_words",
    "split_options",
]

# -- %%puter's options, as the flows take them ------------------------------------------------------


@dataclass(frozen=True)
class AskOptions:
    """``%%puter``'s options as the flows take them: read once from the line, every clash
    between them checked once (:func:`read_ask`)."""

    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    chat: str | None = None
    new: bool = False
    history: bool = True  # False: --no-history (one-shot)
    out: str | None = None
    raw: bool = False
    interpolate: bool = True
    stream: bool = True  # False: --no-stream
    compare: tuple[str, ...] = ()  # the models of --compare (two at least)
    keep: str | None = None
    context: str | None = None  # the names of --context, as written
    tools: str | None = None  # the names of --tools, as written
    approve: bool = False
    images: tuple[str, ...] = ()
    each: str | None = None
    fresh: bool = False
    effort: str | None = None
    verbosity: str | None = None
    web: bool = False
    code: bool = False
    given: dict[str, Any] = field(default_factory=dict, compare=False)  # the options given, by name

    @property
    def batch(self) -> bool:
        """``--each`` (or ``--fresh``): the cell is a template asked once per item."""
        return self.each is not None or self.fresh

    def model_options(self) -> dict[str, Any]:
        """The options sent to the model as Puter takes them (``-t``, ``--max-tokens``,
        ``--effort`` as ``reasoning_effort``, ``--verbosity``, ``--web`` as the web_search tool)."""
        pairs = (
            ("temperature", self.temperature),
            ("max_tokens", self.max_tokens),
            ("reasoning_effort", self.effort),
            ("verbosity", self.verbosity),
        )
        options: dict[str, Any] = {k: v for k, v in pairs if v is not None}
        if self.web:
            from ..api.chat import with_web_search

            options["tools"] = with_web_search(None)
        return options


def read_ask(magic: Any, line: str, cell: str | None) -> tuple[AskOptions, str]:
    """``%%puter LINE`` with *cell* (or ``%puter LINE``, the question on the line): its options
    and the question. Every clash between options is a UsageError here, before anything else."""
    if cell is None:
        words, prompt = split_options(magic, line)
        args = read_words(magic, words)
        if not prompt:
            raise UsageError("%puter needs a question after its options: %puter [options] QUESTION")
    else:
        args, prompt = parse_line(magic, line), cell
    if not prompt.strip():
        raise UsageError("%%puter needs a message: write your question in the cell below %%puter")
    if args.code and (args.compare or args.each is not None):
        raise UsageError("--code puts one reply's code in a cell: it does not go with --compare or --each")
    if args.each is not None or args.fresh:
        if args.each is None:
            raise UsageError("--fresh goes with --each NAME")
        if cell is None:
            raise UsageError("--each works in a %%puter cell: the cell is the template asked per item")
        clashes = [o for o in ("compare", "keep", "chat", "new", "context", "tools") if getattr(args, o)]
        if clashes:
            raise UsageError(f"--each asks each item on its own: it does not go with --{clashes[0]}")
    if args.web and (args.tools or args.approve):
        raise UsageError("--web goes without --tools: Puter's web search is a tool of its own")
    if args.approve and not args.tools:
        raise UsageError("--approve goes with --tools NAMES")
    if args.tools and args.compare:
        raise UsageError("--tools and --compare do not go together: ask one model at a time")
    compare: tuple[str, ...] = ()
    if args.compare:
        compare = tuple(dict.fromkeys(m.strip() for m in args.compare.split(",") if m.strip()))
        if len(compare) < 2:
            raise UsageError(
                "--compare needs at least two models, e.g. --compare gpt-4o-mini,claude-haiku-4-5"
            )
        if args.keep is not None and args.keep not in compare:
            raise UsageError(f"--keep {args.keep}: not one of the compared models ({', '.join(compare)})")
    elif args.keep:
        raise UsageError("--keep goes with --compare")
    options = AskOptions(
        model=args.model,
        system=args.system,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        chat=args.chat,
        new=args.new,
        history=not args.no_history,
        out=args.out,
        raw=args.raw,
        interpolate=not args.no_interpolate,
        stream=not args.no_stream,
        compare=compare,
        keep=args.keep,
        context=args.context,
        tools=args.tools,
        approve=args.approve,
        images=tuple(args.image or ()),
        each=args.each,
        fresh=args.fresh,
        effort=args.effort,
        verbosity=args.verbosity,
        web=args.web,
        code=args.code,
        given=given(args),
    )
    return options, prompt


SAFE_TOKEN_WAYS = (
    "a token on the magic's line would be saved in the notebook; use the PUTER_AUTH_TOKEN "
    "environment variable, --token-env NAME, or %puter_login alone (the sign-in button in a notebook, "
    "a masked prompt in a terminal)"
)


@dataclass(frozen=True)
class LoginOptions:
    """``%puter_login``'s options as the sign-in flow takes them (:func:`read_login`)."""

    origin: str | None = None
    token_env: str | None = None
    browser: bool = False
    save: bool = False
    gui_origin: str | None = None
    guest: bool = True  # False: --no-guest
    wait: bool = True  # False: --no-wait
    button: bool = False
    prompt: bool = False
    sandbox: bool = False


def read_login(magic: Any, line: str) -> LoginOptions:
    """``%puter_login LINE``: its options, every clash checked here; a token on the line is
    refused before anything else (it would be saved in the notebook)."""
    if "--token" in line.split() or any(w.startswith("--token=") for w in line.split()):
        raise UsageError(f"%puter_login does not take --token: {SAFE_TOKEN_WAYS}")
    try:
        args = parse_line(magic, line)
    except UsageError as exc:
        said = str(exc) if str(exc).startswith("unknown option ") else "unknown option (see %puter_login?)"
        raise UsageError(f"%puter_login: {said}; {SAFE_TOKEN_WAYS}") from None
    if args.extra or args.token:
        raise UsageError(f"%puter_login takes no positional arguments: {SAFE_TOKEN_WAYS}")
    button_only = args.no_guest or args.no_wait or args.button
    others = args.origin or args.browser or args.token_env or args.save or args.gui_origin or args.prompt
    if args.sandbox and (others or button_only):
        raise UsageError("%puter_login --sandbox takes no other options")
    if args.browser and button_only:
        raise UsageError(
            "%puter_login --browser: --button, --no-guest and --no-wait are for the sign-in button"
        )
    if args.button and args.token_env:
        raise UsageError("%puter_login: --button or --token-env, not both")
    if args.prompt and (args.browser or args.token_env or button_only):
        raise UsageError(
            "%puter_login --prompt takes a pasted token: "
            "not with --browser, --token-env, --button, --no-guest or --no-wait"
        )
    return LoginOptions(
        origin=args.origin,
        token_env=args.token_env,
        browser=args.browser,
        save=args.save,
        gui_origin=args.gui_origin,
        guest=not args.no_guest,
        wait=not args.no_wait,
        button=args.button,
        prompt=args.prompt,
        sandbox=args.sandbox,
    )


UNSHOWN = {"no_interpolate"}  # options that shape nothing the model sees


def given(args: Any) -> dict[str, Any]:
    """A magic's parsed options that were given (not None, False or empty), by name: what the
    teacher's log and the reply's output metadata name."""
    values = vars(args) if not isinstance(args, Mapping) else args
    return {
        k: v for k, v in values.items() if v is not None and v is not False and v != [] and k not in UNSHOWN
    }


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


def parser_of(magic: Any) -> MagicArgumentParser:
    """*magic*'s parser (a magic or its bound method), built once from its ``@argument``
    lines; IPython's own construction, which also puts the full help in its ``__doc__``."""
    func = getattr(magic, "__func__", magic)
    parser: MagicArgumentParser | None = vars(func).get("parser")
    if parser is None:
        parser = vars(func)["parser"] = construct_parser(func)
    return parser


def parse_line(magic: Any, line: str) -> Any:
    """Parse *line* with *magic*'s ``@argument`` declarations; quotes group words and are
    removed (IPython's own ``parse_argstring`` keeps them). Bad options are a UsageError."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"could not read the options: {exc}") from None
    return read_words(magic, argv)


def did_you_mean(magic: Any, option: str) -> str:
    """``: did you mean --temperature?`` when *magic* has an option spelled like *option*
    (difflib, long options only: a one-letter typo of ``-m`` is anyone's guess), else ``""``.
    An option declared only to be refused (:class:`~.magics.Refused`) is never offered."""
    import difflib

    from .magics import Refused

    name = option.partition("=")[0]
    if not name.startswith("--"):
        return ""
    actions = parser_of(magic)._option_string_actions
    known = [s for s, a in actions.items() if s.startswith("--") and not isinstance(a, Refused)]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f": did you mean {close[0]}?" if close else ""


def _unknown_option(magic: Any, words: list[str]) -> str | None:
    """The first of *words* that looks like an option *magic* does not have."""
    actions = parser_of(magic)._option_string_actions
    for word in words:
        name = word.partition("=")[0]
        known = name in actions or any(s.startswith(name) for s in actions)  # abbreviations too
        if word.startswith("--") and word != "--" and not known:
            return name
    return None


def read_words(magic: Any, words: list[str]) -> Any:
    """*words* read with *magic*'s declarations, and what every magic's options share checked
    once: ``--out`` names a variable."""
    try:
        args = parser_of(magic).parse_args(words)
    except UsageError as exc:
        unknown = _unknown_option(magic, words) if str(exc).startswith("unrecognized arguments") else None
        if unknown is None:
            raise
        raise UsageError(
            f"unknown option {unknown}{did_you_mean(magic, unknown)} (see %{magic.__name__}?)"
        ) from None
    out = getattr(args, "out", None)
    if out is not None and not out.isidentifier():
        raise UsageError(f"--out needs a variable name, not {out!r}")
    return args


# -- the line form ----------------------------------------------------------------------------------

# One shell word: unquoted characters and quoted runs, up to whitespace.
_WORD = re.compile(r"""(?:[^\s'"]+|"[^"]*"|'[^']*')+""")
_NEGATIVE_NUMBER = re.compile(r"-\d+(?:\.\d*)?|-\.\d+")


def split_options(magic: Any, line: str) -> tuple[list[str], str]:
    """Split ``[options] QUESTION`` into the options' words and the question as typed.

    The options end at the first word that is not an option (or at ``--``); whether an option
    takes a value comes from the magic's own argument parser. An unknown or ambiguous option is
    a ``UsageError``, so options never reach the model as text.
    """
    actions = parser_of(magic)._option_string_actions  # argparse's table: option string -> action
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
                f"unknown option {option}{did_you_mean(magic, option)} (see %{magic.__name__}?); "
                "to ask about it, put -- before the question"
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
