"""The teacher's rules for a notebook: what its metadata says, what the site file says, and
the stricter of the two, key by key.

A notebook's metadata key ``puter_magic`` holds the rules::

    {"ai": "off" | "tutor" | "on", "models": ["id", ...], "max_requests": N, "log": true}

Every key is optional. A site-wide JSON file named by ``$PUTER_MAGIC_POLICY`` (a JupyterHub
admin sets it for every student) holds the same keys. Where both speak, the stricter
applies: ``off`` < ``tutor`` < ``on``; the models both allow; the lower ``max_requests``; a
log if either asks. So the site can tighten a notebook and never loosen it.

This is a classroom convention that the notebook carries, not a lock: a student controls
their own kernel. What is not taken as written is a :class:`Problem` in :attr:`Rules.problems`
(``%puter_policy`` shows them, and the next cell's note): a value that cannot be understood is
left out; a site file that cannot be read turns AI help off (it fails closed: the admin named
it to tighten); a notebook that cannot be read says nothing. A file that cannot be read *again*
after a good read (caught half-written, deleted, broken for good; a notebook renamed) keeps the
rules of that read, and says so with the time of it: a file caught mid-save must not flip AI
help off, and rules kept must not pass for fresh ones.

:class:`PolicyWatch` finds the files and reads them again when they change (one ``stat``
per file each time it is asked: cheap; the classroom asks once per cell).
"""

from __future__ import annotations

import json
import os
import reprlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "AI_LEVELS",
    "METADATA_KEY",
    "POLICY_ENV",
    "PolicyWatch",
    "Problem",
    "Rules",
    "find_notebook",
    "merge",
    "parse_rules",
    "read_notebook_rules",
    "read_site_rules",
    "summary_line",
]

METADATA_KEY = "puter_magic"
POLICY_ENV = "PUTER_MAGIC_POLICY"
AI_LEVELS = ("off", "tutor", "on")  # strictest first
KEYS = ("ai", "models", "max_requests", "log")
NOTEBOOK = "the notebook"
LEFT_OUT = "a value was not understood and is left out:"
SITE_UNREADABLE = "the site's rules file could not be read, so AI help is off:"
ASK_THE_HUB = "ask whoever runs this hub"


@dataclass(frozen=True)
class Problem:
    """What in the rules was not taken as written: *lead* says what happened (a note's title,
    after "Classroom rules:"), *detail* where and why."""

    lead: str
    detail: str

    @property
    def title(self) -> str:
        """The title of the note that shows it."""
        return f"Classroom rules: {self.lead}"

    def __str__(self) -> str:
        return f"{self.lead} {self.detail}"


@dataclass(frozen=True)
class Rules:
    """The rules in force (None: nothing said), where each came from, and what was not understood."""

    ai: str | None = None
    models: tuple[str, ...] | None = None
    max_requests: int | None = None
    log: bool | None = None
    source: Mapping[str, str] = field(default_factory=dict)  # key -> "the notebook", "the site (...)"
    problems: tuple[Problem, ...] = ()

    @property
    def mode(self) -> str:
        """``off``, ``tutor`` or ``on`` (nothing said: on)."""
        return self.ai or "on"

    @property
    def said(self) -> bool:
        """True when any rule is set."""
        return any(getattr(self, k) is not None for k in KEYS)

    def where(self, key: str) -> str:
        return self.source.get(key, "")

    def to_json(self) -> dict[str, Any]:
        """The rules as they are written in a notebook's metadata."""
        out: dict[str, Any] = {}
        if self.ai is not None:
            out["ai"] = self.ai
        if self.models is not None:
            out["models"] = list(self.models)
        if self.max_requests is not None:
            out["max_requests"] = self.max_requests
        if self.log is not None:
            out["log"] = self.log
        return out


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxdict = 3
MAX_SHOWN = 120  # characters of a value named in a problem


def _shown(value: Any) -> str:
    """A notebook's value as a problem names it: its repr, bounded (a value can be huge)."""
    text = _REPR.repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _reason(exc: OSError | ValueError) -> str:
    """Why a file could not be read, in one bounded line without quotes around it."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def parse_rules(raw: Any, where: str) -> Rules:
    """The rules in *raw* (the ``puter_magic`` object), said by *where*; what is not
    understood is left out and named in ``problems``."""
    if raw is None:
        return Rules()
    if not isinstance(raw, dict):
        return Rules(
            problems=(
                Problem(LEFT_OUT, f"{where}: the rules must be a JSON object, not {type(raw).__name__}"),
            )
        )
    values: dict[str, Any] = {}
    problems = [f"{where}: unknown key {_shown(k)} (known: {', '.join(KEYS)})" for k in raw if k not in KEYS]
    ai = raw.get("ai")
    if ai is not None:
        level = ai.strip().lower() if isinstance(ai, str) else None
        if level in AI_LEVELS:
            values["ai"] = level
        else:
            problems.append(f"{where}: ai must be one of {', '.join(AI_LEVELS)}, not {_shown(ai)}")
    models = raw.get("models")
    if models is not None:
        if isinstance(models, str):
            models = [models]
        if isinstance(models, list) and all(isinstance(m, str) and m.strip() for m in models):
            values["models"] = tuple(dict.fromkeys(m.strip() for m in models))
        else:
            problems.append(f"{where}: models must be a list of model ids, not {_shown(models)}")
    limit = raw.get("max_requests")
    if limit is not None:
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
            values["max_requests"] = limit
        else:
            problems.append(f"{where}: max_requests must be a whole number of 0 or more, not {_shown(limit)}")
    log = raw.get("log")
    if log is not None:
        if isinstance(log, bool):
            values["log"] = log
        else:
            problems.append(f"{where}: log must be true or false, not {_shown(log)}")
    left_out = tuple(Problem(LEFT_OUT, p) for p in problems)
    return Rules(**values, source=dict.fromkeys(values, where), problems=left_out)


def merge(notebook: Rules, site: Rules) -> Rules:
    """The stricter of *notebook* and *site*, key by key."""
    values: dict[str, Any] = {}
    source: dict[str, str] = {}

    def both(key: str) -> str:
        return f"{notebook.where(key)} and {site.where(key)}"

    if notebook.ai is not None or site.ai is not None:
        levels = [r for r in (notebook, site) if r.ai is not None]
        strictest = min(levels, key=lambda r: AI_LEVELS.index(r.mode))
        values["ai"] = strictest.ai
        agree = len(levels) == 2 and notebook.ai == site.ai
        source["ai"] = both("ai") if agree else strictest.where("ai")
    if notebook.models is not None and site.models is not None:
        allowed = set(site.models)
        values["models"] = tuple(m for m in notebook.models if m in allowed)
        source["models"] = both("models")
    elif notebook.models is not None or site.models is not None:
        said = notebook if notebook.models is not None else site
        values["models"], source["models"] = said.models, said.where("models")
    limits = [r for r in (notebook, site) if r.max_requests is not None]
    if limits:
        lowest = min(limits, key=lambda r: r.max_requests or 0)
        values["max_requests"] = lowest.max_requests
        agree = len(limits) == 2 and notebook.max_requests == site.max_requests
        source["max_requests"] = both("max_requests") if agree else lowest.where("max_requests")
    logs = [r for r in (notebook, site) if r.log is not None]
    if logs:
        asking = [r for r in logs if r.log]
        values["log"] = bool(asking)
        source["log"] = " and ".join(r.where("log") for r in (asking or logs))
    return Rules(**values, source=source, problems=notebook.problems + site.problems)


def summary_line(rules: Rules) -> str:
    """One line naming the rules, for the note shown when the extension loads."""
    parts = []
    if rules.mode == "off":
        parts.append(f"AI help off, set by {rules.where('ai')}")
    elif rules.ai is not None:
        parts.append({"tutor": "AI as a tutor", "on": "AI on"}[rules.mode])
    if rules.models is not None:
        parts.append("models " + (", ".join(rules.models) or "none"))
    if rules.max_requests is not None:
        parts.append(f"{rules.max_requests} requests")
    if rules.log:
        parts.append("a log for the teacher")
    return "; ".join(parts)


def _site_name(path: str) -> str:
    return f"the site ({path})"


def read_notebook_rules(path: Path) -> Rules:
    """The rules in the metadata of the notebook at *path* (raises OSError or ValueError when
    the file cannot be read as JSON)."""
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    metadata = data.get("metadata") if isinstance(data, dict) else None
    raw = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return parse_rules(raw, NOTEBOOK)


def _load_site(path: str) -> Any:
    """The JSON of the site file (raises OSError or ValueError)."""
    return json.loads(Path(path).expanduser().read_text(encoding="utf-8"))


def _site_from(data: Any, where: str) -> Rules:
    if isinstance(data, dict) and isinstance(data.get(METADATA_KEY), dict):
        data = data[METADATA_KEY]
    return parse_rules(data, where)


def _unreadable_site(path: str, exc: OSError | ValueError) -> Rules:
    """A site file named but not readable fails closed: the hub's admin named it to tighten
    every notebook, and AI help off is what gets noticed (by students, then by the admin)."""
    return Rules(
        ai="off",
        source={"ai": f"{_site_name(path)}, which could not be read"},
        problems=(Problem(SITE_UNREADABLE, f"{path}: {_reason(exc)}; {ASK_THE_HUB}"),),
    )


def read_site_rules(path: str) -> Rules:
    """The rules in the site file at *path*: the keys at the top, or under ``puter_magic``.
    A file that cannot be read (missing, not JSON) turns AI help off, and says why."""
    try:
        data = _load_site(path)
    except (OSError, ValueError) as exc:
        return _unreadable_site(path, exc)
    return _site_from(data, _site_name(path))


def find_notebook(
    namespace: Mapping[str, Any], environ: Mapping[str, str], cwd: Path | None = None
) -> Path | None:
    """The notebook this kernel runs, as its frontend tells it: VS Code's
    ``__vsc_ipynb_file__``, Jupyter's ``JPY_SESSION_NAME`` (IPython's ``__session__``).
    A relative name is taken from the kernel's folder. None when no frontend says."""
    for name in (
        namespace.get("__vsc_ipynb_file__"),
        environ.get("JPY_SESSION_NAME"),
        namespace.get("__session__"),
    ):
        if isinstance(name, str) and name.endswith(".ipynb"):
            path = Path(name).expanduser()
            if not path.is_absolute():
                path = (cwd or Path.cwd()) / path
            return path
    return None


Stamp = tuple[int, int]  # (mtime_ns, size)


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class PolicyWatch:
    """The rules in force now: the notebook's and the site's, each read again when its file
    changes (its modification time or size), merged.

    *notebook* says which notebook runs (it may change, e.g. once VS Code names it);
    *site* is the site file's path (``$PUTER_MAGIC_POLICY`` unless given); *clock* gives the
    time of a read (a kept read is named by it).

    A file that cannot be read again after a good read keeps that read's rules, with a
    :class:`Problem` naming the file, why, and when the rules kept were read.
    """

    def __init__(
        self,
        notebook: Callable[[], Path | None],
        site: Callable[[], str | None] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._notebook = notebook
        self._site = site if site is not None else (lambda: os.environ.get(POLICY_ENV) or None)
        self._clock = clock
        self._seen: dict[str, tuple[Path | str | None, Stamp | None, Rules]] = {}
        self._good: dict[str, tuple[Path | str, Rules, float]] = {}  # slot -> its last good read, and when
        self._merged: tuple[Rules, Rules, Rules] | None = None  # (notebook, site, merged)
        self.notebook_path: Path | None = None
        self.site_path: str | None = None
        self.reads = 0  # files read (so tests can tell a cached answer from a fresh one)

    def rules(self) -> Rules:
        """The merged rules, reading again only what changed since the last call."""
        self.notebook_path = self._notebook()
        self.site_path = self._site()
        notebook = self._read("notebook", self.notebook_path, self._read_notebook)
        site = self._read("site", self.site_path, self._read_site)
        if self._merged is None or self._merged[0] is not notebook or self._merged[1] is not site:
            self._merged = (notebook, site, merge(notebook, site))  # only when a side was read again
        return self._merged[2]

    def _read_notebook(self, path: Path) -> Rules:
        try:
            rules = read_notebook_rules(path)
        except (OSError, ValueError) as exc:
            return self._kept("notebook", path, _reason(exc)) or Rules()
        self._good["notebook"] = (path, rules, self._clock())
        return rules

    def _read_site(self, path: str) -> Rules:
        try:
            data = _load_site(path)
        except (OSError, ValueError) as exc:
            return self._kept("site", path, _reason(exc)) or _unreadable_site(path, exc)
        rules = _site_from(data, _site_name(path))
        self._good["site"] = (path, rules, self._clock())
        return rules

    def _kept(self, slot: str, path: Path | str, reason: str) -> Rules | None:
        """The rules of *path*'s last good read, which stand (a file caught half-written by
        an editor must not flip AI help off mid-edit), with a problem that says they are kept,
        why and since when; None when *path* was never read well. A notebook that said no
        rules keeps saying none, quietly (every renamed notebook would have a note)."""
        good = self._good.get(slot)
        if good is None or good[0] != path:
            return None
        rules, when = good[1], time.strftime("%H:%M", time.localtime(good[2]))
        if slot == "notebook" and not rules.said:
            return rules
        what, ask = ("site file", f"; {ASK_THE_HUB}") if slot == "site" else ("notebook", "")
        kept = Problem(
            f"the {what} could not be read again; the rules read at {when} stand:", f"{path}: {reason}{ask}"
        )
        return replace(rules, problems=(*rules.problems, kept))

    def _read(self, slot: str, path: Any, read: Callable[[Any], Rules]) -> Rules:
        if path is None:
            self._seen.pop(slot, None)
            self._good.pop(slot, None)
            return Rules()
        stamp = _stamp(Path(path).expanduser())
        seen = self._seen.get(slot)
        if seen is not None and seen[0] == path and seen[1] == stamp and stamp is not None:
            return seen[2]
        if stamp is None and slot == "notebook":
            # Gone (renamed: the kernel still names the old file; deleted): the rules read
            # before stand, as for a file caught half-written. Never read: not saved yet.
            rules = self._kept(slot, path, "not found (renamed or deleted?)") or Rules()
        else:
            rules = read(path)
            self.reads += 1
        self._seen[slot] = (path, stamp, rules)
        return rules
