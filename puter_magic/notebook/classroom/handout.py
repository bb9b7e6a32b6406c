"""``puter-classroom``: the teacher's command that writes the classroom rules into a notebook.

    puter-classroom assignment.ipynb --ai tutor --models gpt-5-nano,claude-haiku-4-5 \\
        --max-requests 30 --log

It sets the notebook's metadata key ``puter_magic`` (see :mod:`.policy`) and leaves
everything else in the file as it was: the cells, the other metadata, the key order and
the indentation. Options not given keep their value; ``--unset KEY`` removes one rule and
``--clear`` all of them. With no option it shows the rules the notebook carries. It needs
no IPython (``python -m puter_magic.notebook.classroom.handout`` works too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .policy import AI_LEVELS, KEYS, METADATA_KEY, parse_rules

__all__ = ["main", "write_rules"]


def _indent(text: str) -> int:
    """The indentation the file uses (Jupyter writes 1), so a rewrite changes one key only."""
    lines = text.splitlines()
    if len(lines) > 1 and lines[0].strip() == "{":
        second = lines[1]
        return max(len(second) - len(second.lstrip(" ")), 1)
    return 1


def write_rules(
    path: Path, changes: dict[str, Any], unset: Sequence[str] = (), clear: bool = False
) -> dict[str, Any]:
    """Apply *changes* (and *unset*, *clear*) to the rules of the notebook at *path*; write
    it back only if the rules changed. Returns the rules it carries now. Raises ValueError
    for a file that is not a notebook or rules that would not be understood."""
    text = path.read_text(encoding="utf-8")
    try:
        nb = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not a notebook (not JSON: {exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path} is not a notebook (no cells)")
    metadata = nb.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: its metadata is not an object")
    before = metadata.get(METADATA_KEY)
    rules: dict[str, Any] = {} if clear or not isinstance(before, dict) else dict(before)
    for key in unset:
        rules.pop(key, None)
    rules.update(changes)
    parsed = parse_rules(rules, "the rules")
    if parsed.problems:
        raise ValueError("; ".join(p.detail for p in parsed.problems))
    if rules == before or (not rules and before is None):
        return rules
    if rules:
        metadata[METADATA_KEY] = rules
    else:
        metadata.pop(METADATA_KEY, None)
    out = json.dumps(nb, indent=_indent(text), ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(out)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)  # whole or not at all: a kernel reading it never sees half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rules


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="puter-classroom",
        description="Write the classroom rules for puter-magic into a notebook's metadata "
        "(key 'puter_magic'); students' kernels follow them. With no option: show them.",
        epilog="A classroom convention that the notebook carries, not a lock: a student controls "
        "their own kernel. A site-wide file named by $PUTER_MAGIC_POLICY can tighten the rules.",
    )
    parser.add_argument("notebook", type=Path, help="the .ipynb file to hand out")
    parser.add_argument("--ai", choices=AI_LEVELS, help="off: no AI help; tutor: guide, not solve; on")
    parser.add_argument("--models", metavar="IDS", help="the only models students may ask (comma-separated)")
    parser.add_argument("--max-requests", type=int, metavar="N", help="requests per kernel session")
    log = parser.add_mutually_exclusive_group()
    log.add_argument("--log", dest="log", action="store_true", default=None, help="log every exchange")
    log.add_argument("--no-log", dest="log", action="store_false", help="no log")
    parser.add_argument(
        "--unset", metavar="KEY", action="append", choices=KEYS, default=[], help="remove a rule"
    )
    parser.add_argument("--clear", action="store_true", help="remove every rule")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    changes: dict[str, Any] = {}
    if args.ai is not None:
        changes["ai"] = args.ai
    if args.models is not None:
        changes["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.max_requests is not None:
        changes["max_requests"] = args.max_requests
    if args.log is not None:
        changes["log"] = args.log
    path: Path = args.notebook
    try:
        rules = write_rules(path, changes, args.unset, args.clear)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"puter-classroom: {path}: {reason}", file=sys.stderr)
        return 2
    shown = json.dumps(rules, ensure_ascii=False) if rules else "none (AI help as usual)"
    print(f"{path}: classroom rules: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
