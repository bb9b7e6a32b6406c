"""The token never shows: not in outputs, reprs, errors, tracebacks or DEBUG logs."""

from __future__ import annotations

import json
import logging
import os
import stat
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from puter_magic import PuterClient, PuterError
from puter_magic.api.auth import LoginStore, SavedLogin, TokenSource
from puter_magic.notebook.session import PuterSession
from puter_magic.sandbox import Fault, Sandbox

from .shell import final_outputs, magics_of

SECRET = "tok-SUPER-SECRET-0123456789abcdef"


@pytest.fixture
def secret_sandbox(sandbox: Sandbox) -> Sandbox:
    sandbox.add_token(SECRET)
    return sandbox


def every_magic(ip: InteractiveShell, sandbox: Sandbox, tmp: Path) -> list[str]:
    """Run every magic, the failing paths included; return everything they showed."""
    seen: list[str] = []
    os.environ["PUTER_AUTH_TOKEN"] = SECRET
    cells = [
        f"%puter_login --origin {sandbox.origin} --save",
        f"%puter_login --origin {sandbox.origin}",
        "%%puter -m sandbox-tutor\nHello",
        "%%puter -m sandbox-echo\nRepeat: {user_token}",
        "%%puter --no-stream -m sandbox-tutor\nHello again",
        "%puter one line",
        "%puter_models",
        "%puter_history",
        "%puter_history --json",
        "%puter_history --replaced",
        f"%puter_history --save {tmp / 'thread.json'}",
        "%%puter\n" + "x",  # faults below answer these
        "%%puter --no-stream\nx",
        "%%puter\nx",
        "%%puter --no-stream\nx",
        "%puter_reset --all",
        "%puter_logout --keep",
        f"%puter_login --origin {sandbox.origin}",
        "%puter_logout",
    ]
    ip.user_ns["user_token"] = "not the token"
    faults = [
        Fault.error(401, "token_auth_failed", f"Bad token {SECRET}", echo=SECRET),
        Fault.stream([{"type": "error", "message": f"stream died for {SECRET}"}]),
        Fault.html_page(502, f"Gateway {SECRET}"),
        Fault.legacy_error("forbidden", f"Token {SECRET} may not do this", 403),
    ]
    for cell in cells:
        if cell.endswith("\nx"):
            sandbox.inject(faults.pop(0))
        with capture_output() as captured:
            ip.run_cell(cell)
        seen += [json.dumps(final_outputs(captured)), captured.stdout, captured.stderr]
    seen.append((tmp / "thread.json").read_text())
    assert faults == [] and "puter-warning" in "".join(seen)  # every failure path ran
    return seen


def test_token_never_in_any_output_or_debug_log(
    ip: InteractiveShell, secret_sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, requests, urllib3
    seen = every_magic(ip, secret_sandbox, tmp_path)
    seen += [caplog.text] + [r.getMessage() for r in caplog.records]
    assert len(caplog.records) > 10  # the logs were really captured at DEBUG
    leaks = [s[:200] for s in seen if SECRET in s]
    assert leaks == []


def test_token_never_in_exceptions_or_tracebacks(ip: InteractiveShell, secret_sandbox: Sandbox) -> None:
    os.environ["PUTER_AUTH_TOKEN"] = SECRET
    ip.run_line_magic("puter_login", f"--origin {secret_sandbox.origin}")
    ip.run_line_magic("config", "PuterMagics.raise_errors = True")
    faults = [
        Fault.error(401, "token_auth_failed", f"Bad token {SECRET}", echo=SECRET),
        Fault.stream([{"type": "error", "message": f"died {SECRET}"}]),
        Fault.html_page(502, f"Gateway {SECRET}"),
        Fault(status=302, headers={"Location": f"http://127.0.0.2:9/?token={SECRET}"}, body=b""),
        Fault.raw(f"not json {SECRET}".encode()),
    ]
    texts: list[str] = []
    for fault in faults:
        secret_sandbox.inject(fault)
        with pytest.raises(PuterError) as info:
            ip.run_cell_magic("puter", "", "hi")
        exc = info.value
        texts += [str(exc), repr(exc), json.dumps(exc.detail, default=str)]
        texts.append("".join(traceback.format_exception(exc)))
        with capture_output() as captured:
            ip.showtraceback((type(exc), exc, exc.__traceback__))
        texts += [captured.stdout, captured.stderr, json.dumps(final_outputs(captured))]
    assert not [t[:200] for t in texts if SECRET in t]


def _holds(obj: Any, secret: str, depth: int = 8) -> bool:
    """True if *secret* is reachable from *obj*'s attributes (so its repr could leak it)."""
    seen: set[int] = set()
    todo: list[tuple[Any, int]] = [(obj, 0)]
    while todo:
        item, level = todo.pop()
        if item is secret or (isinstance(item, str) and secret in item):
            return True
        if id(item) in seen or level >= depth or isinstance(item, (str, bytes, int, float, type, ModuleType)):
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            todo += [(v, level + 1) for v in item.values()]
        elif isinstance(item, (list, tuple, set)):
            todo += [(v, level + 1) for v in item]
        attributes = getattr(item, "__dict__", None)
        if isinstance(attributes, dict):
            todo += [(v, level + 1) for v in attributes.values()]
        for name in getattr(type(item), "__slots__", ()):
            todo.append((getattr(item, name, None), level + 1))
        closure = getattr(item, "__closure__", None)  # a token getter
        if isinstance(closure, tuple):
            todo += [(cell.cell_contents, level + 1) for cell in closure]
    return False


def test_reprs_of_objects_that_hold_the_token(ip: InteractiveShell, secret_sandbox: Sandbox) -> None:
    client = PuterClient(secret_sandbox.origin, SECRET)
    session = PuterSession()
    session.sign_in(secret_sandbox.origin, SECRET)
    stream = client.chat_stream("hi", model="sandbox-tutor")
    chunks = client.stream("puter-chat-completion", "complete", {"model": "fake", "messages": []})
    os.environ["PUTER_AUTH_TOKEN"] = SECRET
    ip.run_line_magic("puter_login", f"--origin {secret_sandbox.origin}")
    objects: list[Any] = [
        client,
        client._transport,
        session,
        session.client,
        secret_sandbox,
        stream,
        chunks,
        SavedLogin("o", SECRET, "u"),
        TokenSource(SECRET, "$X"),
        secret_sandbox.calls()[-1],
        magics_of(ip),
        magics_of(ip).session,
    ]
    try:
        for obj in objects:
            assert _holds(obj, SECRET), f"{type(obj).__name__} does not hold the token: a useless check"
            assert SECRET not in repr(obj) and SECRET not in str(obj), type(obj)
    finally:
        stream.close()
        chunks.close()


def test_saved_login_is_private_from_the_start_and_replaced_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LoginStore(tmp_path / "cfg")
    modes: list[int] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        modes.append(stat.S_IMODE(os.stat(src).st_mode))  # the file as it was before it appeared
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    os.umask(0o022)
    store.save("https://api.puter.com", SECRET, "ada")
    store.save("http://127.0.0.1:1", "other", None)
    assert modes == [0o600, 0o600]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert [p.name for p in store.directory.iterdir()] == ["login.json"]  # no temp files left
    assert store.get("https://api.puter.com") == SavedLogin(
        "https://api.puter.com", SECRET, "ada", store.get("https://api.puter.com").saved_at
    )
    assert store.forget("https://api.puter.com") and store.get("https://api.puter.com") is None
    assert store.get("http://127.0.0.1:1") is not None
    assert store.forget() and not store.path.exists()
