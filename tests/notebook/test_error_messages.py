"""Warnings that fit the cause, as a real Puter server and a new user meet them.

A token that never worked is not "expired"; hints send a self-hosted user to that
server's own pages, not to puter.com; Puter's website given as the API origin, https to
a plain-http port and an empty $PUTER_AUTH_TOKEN each say what to do; an error body with
no ``code`` still shows its message; the verification gates name their step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from nbclient import NotebookClient

from puter_magic.api.errors import PermissionDenied
from puter_magic.notebook.failures import describe_error
from puter_magic.sandbox import Fault, Sandbox

from ..conftest import ROOT
from ..shell import magics_of, run

PAGE = (
    "<!DOCTYPE html><html><head><title>Puter</title></head>"
    "<body><div id='gui'>The Internet OS</div></body></html>"
)


def only(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(outputs) == 1, outputs
    return outputs[0]


def at(path: str, fault: Fault) -> Fault:
    fault.path = path
    return fault


def self_hosted(sandbox: Sandbox) -> tuple[str, str]:
    """A self-hosted-style API origin for the sandbox, and the GUI host that goes with it."""
    port = sandbox.origin.rsplit(":", 1)[1]
    return f"http://api.puter.localhost:{port}", f"http://puter.localhost:{port}"


@pytest.fixture
def signed_in_self_hosted(ip: InteractiveShell, sandbox: Sandbox) -> InteractiveShell:
    api, _ = self_hosted(sandbox)
    os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
    _, result = run(ip, f"%puter_login --origin {api}")
    assert result.success, result.error_in_exec
    magics_of(ip).default_model = "sandbox-tutor"
    sandbox.clear()
    return ip


# -- tokens: not accepted vs expired; hints name the server's own GUI -----------------------


@pytest.mark.parametrize(
    "fault",
    [
        None,  # the sandbox's own answer to a token it never issued, as a real server gives it
        Fault.error(401, "token_auth_failed", "Authentication failed"),
    ],
    ids=["reauth_required-token_v1", "token_auth_failed"],
)
def test_a_token_that_never_worked_is_not_called_expired(
    ip: InteractiveShell, sandbox: Sandbox, fault: Fault | None
) -> None:
    api, gui = self_hosted(sandbox)
    os.environ["PUTER_AUTH_TOKEN"] = "not-a-real-token"
    if fault is not None:
        sandbox.inject(at("/whoami", fault))
    outputs, result = run(ip, f"%puter_login --origin {api}")
    assert result.success
    warning = only(outputs)
    for mime in ("text/plain", "text/html"):
        assert "token not accepted" in warning[mime].lower(), warning[mime]
        assert "expired" not in warning[mime].lower()
        assert gui in warning[mime] and "puter.com" not in warning[mime], warning[mime]
    assert "not-a-real-token" not in json.dumps(outputs)


@pytest.mark.parametrize(
    ("reason", "title"), [("session_expired", "Sign-in expired"), ("session_revoked", "Sign-in revoked")]
)
def test_a_session_that_ended_says_so(
    signed_in_self_hosted: InteractiveShell, sandbox: Sandbox, reason: str, title: str
) -> None:
    _, gui = self_hosted(sandbox)
    sandbox.inject(Fault.error(401, "reauth_required", "Re-authentication required", reason=reason))
    warning = only(run(signed_in_self_hosted, "%%puter\nHello")[0])
    assert title in warning["text/html"] and title.lower() in warning["text/plain"]
    assert "%puter_login" in warning["text/plain"] and gui in warning["text/plain"]
    assert "puter.com" not in warning["text/plain"]


@pytest.mark.parametrize(
    ("code", "message", "title", "step"),
    [
        (
            "email_confirmation_required",
            "Please confirm your email to continue",
            "Email not confirmed",
            "confirm your email at",
        ),
        (
            "phone_verification_required",
            "Please verify your phone number to continue",
            "Phone not verified",
            "verify your phone number at",
        ),
        (
            "card_verification_required",
            "Please verify a card to continue",
            "Card not verified",
            "verify a payment card at",
        ),
    ],
)
def test_verification_gates_name_their_step(
    signed_in_self_hosted: InteractiveShell,
    sandbox: Sandbox,
    code: str,
    message: str,
    title: str,
    step: str,
) -> None:
    _, gui = self_hosted(sandbox)
    sandbox.inject(Fault.error(403, code, message))
    outputs, _ = run(signed_in_self_hosted, "%%puter\nHello")
    warning = only(outputs)
    assert title in warning["text/html"] and message in warning["text/plain"]
    assert f"{step} {gui}" in warning["text/plain"] and "puter.com" not in warning["text/plain"]
    assert "run the cell again" in warning["text/plain"] and "safe" in warning["text/plain"]
    assert magics_of(signed_in_self_hosted).session.conversations.get().exchanges == []


def test_hints_for_puter_com_name_puter_com() -> None:
    err = PermissionDenied("Please confirm your email", status=403, code="email_confirmation_required")
    err.origin = "https://api.puter.com"
    assert "confirm your email at puter.com" in describe_error(err)[1]


# -- the website given as the API origin ---------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [
        [
            at("/whoami", Fault(status=302, headers={"Location": "/"}, body=b"", content_type=None)),
            at("/", Fault(status=200, body=PAGE, content_type="text/html; charset=utf-8")),
        ],
        [at("/whoami", Fault(status=200, body=PAGE, content_type="text/html; charset=utf-8"))],
    ],
    ids=["redirect-to-page", "page"],
)
def test_the_gui_host_as_origin_says_use_the_api_host(
    ip: InteractiveShell, sandbox: Sandbox, faults: list[Fault]
) -> None:
    api, gui = self_hosted(sandbox)
    os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
    sandbox.inject(*faults)
    outputs, result = run(ip, f"%puter_login --origin {gui}")
    assert result.success
    warning = only(outputs)
    for mime in ("text/plain", "text/html"):
        assert "Puter's website, not its API" in warning[mime].replace("&#x27;", "'"), warning[mime]
        assert f"--origin {api}" in warning[mime].replace("<code>", "").replace("</code>", "")
        assert "JSONDecodeError" not in warning[mime]
    assert magics_of(ip).session.client is None  # not signed in to a website


# -- https to a plain-http port ----------------------------------------------------------------


def test_https_to_a_plain_http_server_suggests_http(ip: InteractiveShell, sandbox: Sandbox) -> None:
    port = sandbox.origin.rsplit(":", 1)[1]
    os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
    started = time.monotonic()
    outputs, result = run(ip, f"%puter_login --origin https://127.0.0.1:{port}")
    assert result.success and time.monotonic() - started < 10
    warning = only(outputs)
    assert "Network error" in warning["text/html"]
    plain = warning["text/plain"]
    assert "plain http" in plain and f"--origin http://127.0.0.1:{port}" in plain
    assert "WRONG_VERSION_NUMBER" not in warning["text/plain"]


# -- an error body without a code -------------------------------------------------------------


def test_an_error_without_a_code_still_shows_its_message(
    signed_in_self_hosted: InteractiveShell, sandbox: Sandbox
) -> None:
    # As a real self-hosted Puter answers app-telemetry for an unknown app.
    for source in ("%%puter\nHello", "%%puter --no-stream\nHello"):
        sandbox.inject(Fault(status=404, body={"error": "App not found", "message": "App not found"}))
        warning = only(run(signed_in_self_hosted, source)[0])
        assert "App not found" in warning["text/plain"] and "App not found" in warning["text/html"]
        assert "HTTP 404" in warning["text/plain"]


# -- an empty $PUTER_AUTH_TOKEN ---------------------------------------------------------------


def test_empty_token_env_in_a_kernel_is_one_clean_line(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nbclient's frontend takes no input: one UsageError line, no getpass noise."""
    monkeypatch.setenv("PUTER_AUTH_TOKEN", "")  # the kernel inherits it
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext puter_magic"),
        nbformat.v4.new_code_cell(f"%puter_login --origin {sandbox.origin}"),
    ]
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    assert nb.cells[0].outputs == []
    outputs = nb.cells[1].outputs
    assert [o["output_type"] for o in outputs] == ["stream"] and outputs[0]["name"] == "stderr"
    lines = outputs[0]["text"].strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("UsageError: $PUTER_AUTH_TOKEN is set but empty"), lines[0]
    assert sandbox.requests == []


def test_empty_token_env_in_terminal_ipython_without_a_terminal(tmp_path: Path) -> None:
    """IPython with no controlling terminal (a script, a pipe): no GetPassWarning, no
    "input may be echoed", no wait for input; the one-line error says what is wrong."""
    ipython = Path(sys.executable).with_name("ipython")
    env = {**os.environ, "PUTER_AUTH_TOKEN": "", "PUTER_MAGIC_CONFIG_DIR": str(tmp_path)}
    code = (
        "get_ipython().run_line_magic('load_ext', 'puter_magic'); "
        "get_ipython().run_line_magic('puter_login', '--origin http://127.0.0.1:9')"
    )
    proc = subprocess.run(
        [str(ipython), "--no-banner", "--colors=nocolor", "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        start_new_session=True,  # no controlling terminal, so no /dev/tty
    )
    noise = proc.stderr + proc.stdout
    assert "GetPassWarning" not in noise and "echoed" not in noise and "input hidden" not in noise, noise
    assert "$PUTER_AUTH_TOKEN is set but empty" in noise, noise


def test_empty_token_env_named_with_token_env(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_EMPTY_TOKEN", "")
    with pytest.raises(UsageError, match=r"\$MY_EMPTY_TOKEN is empty"):
        ip.run_line_magic("puter_login", "--origin http://127.0.0.1:9 --token-env MY_EMPTY_TOKEN")


def test_no_token_prompt_for_a_server_that_is_not_there(ip: Any, monkeypatch: Any) -> None:
    """Asking for a hidden token first and only then finding nobody listens wastes the token
    (in a terminal, the next command typed went into the prompt)."""
    import getpass
    import socket

    asked: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": asked.append(prompt) or "tok")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    outputs, result = run(ip, f"%puter_login --origin http://127.0.0.1:{port}")
    assert result.success and asked == []
    [warning] = [o for o in outputs if "puter-warning" in o.get("text/html", "")]
    assert "Network error" in warning["text/html"] and "refused" in warning["text/plain"]
