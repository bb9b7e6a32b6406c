"""The line form of the free-text magics: ``%puter [options] QUESTION``.

Two things stand between such a line and the magic, and this module handles both:

- IPython's help syntax: a line that ends in ``?`` becomes a help request for the last name
  before it, so ``%puter What is a list?`` would show the help of ``list``. :func:`ask_not_help`
  is an input transformer that IPython runs before its own (``input_transformers_cleanup``);
  it turns such a line into the call IPython makes for the line without the help syntax.
- The options: :func:`split_options` takes the cell form's options off the front of the line,
  one token at a time, and leaves the question exactly as typed (apostrophes and all).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from IPython.core.error import UsageError

__all__ = ["FREE_TEXT_MAGICS", "ask_not_help", "split_options"]

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
        code = TransformerManager().transform_cell("".join(before))  # type: ignore[no-untyped-call]
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
