"""Media cells that can be tried for free (%puter_ocr and %puter_transcribe take --test), and
warnings whose next step fits the failure: a server with no provider is not "run it again",
a 404 about an app or a method is not "check the origin", a 400 on %%puter_speak or
%%puter_image points to that magic's own help."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.api.errors import NotConfigured, NotFound, ServerError
from puter_magic.api.protocol import error_from_reply
from puter_magic.sandbox import Sandbox
from puter_magic.sandbox.pixels import picture

from ..recorded_puter import RecordedPuter, recorded
from ..shell import run


@pytest.fixture(scope="module")
def _keyless() -> Iterator[Sandbox]:
    with Sandbox(media_providers=False) as sandbox:  # a self-hosted Puter without provider keys
        yield sandbox


@pytest.fixture
def keyless(ip: InteractiveShell, _keyless: Sandbox) -> Sandbox:
    os.environ["PUTER_AUTH_TOKEN"] = _keyless.token
    _, result = run(ip, f"%puter_login --origin {_keyless.origin}")
    assert result.success, result.error_in_exec
    _keyless.clear()
    return _keyless


def _text(outputs: list[dict[str, str]]) -> str:
    return "\n".join(o.get("text/plain", "") + o.get("stdout", "") for o in outputs)


def test_ocr_and_transcribe_take_test_on_a_keyless_server(ip: InteractiveShell, keyless: Sandbox) -> None:
    outputs, _ = run(ip, "%puter_ocr --test --out read")
    assert "test_mode is enabled; this is a sample OCR response." in _text(outputs)
    assert "test mode: Puter's free sample" in _text(outputs)
    assert keyless.calls()[-1].args == {"test_mode": True}  # inside args, where Puter reads it
    outputs, _ = run(ip, "%puter_transcribe --test")
    assert "sample transcription" in _text(outputs)
    assert keyless.calls()[-1].args == {"test_mode": True}
    assert ip.user_ns["read"].text.startswith("test_mode is enabled")


def test_test_with_a_source_sends_it_too(ip: InteractiveShell, keyless: Sandbox, tmp_path: Path) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(picture("a scan", 8, 8))
    outputs, _ = run(ip, f"%puter_ocr {scan} --test")
    assert "sample OCR response" in _text(outputs)
    args = keyless.calls()[-1].args
    assert args["test_mode"] is True and args["source"].startswith("data:image/png;base64,")


def test_no_source_without_test_is_a_usage_error(ip: InteractiveShell, keyless: Sandbox) -> None:
    _, result = run(ip, "%puter_ocr")
    assert "--test" in str(result.error_in_exec) and keyless.calls() == []


def test_no_provider_configured_is_not_run_it_again(
    ip: InteractiveShell, keyless: Sandbox, tmp_path: Path
) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(picture("a scan", 8, 8))
    outputs, _ = run(ip, f"%puter_ocr {scan}")
    warning = _text(outputs)
    assert "No OCR provider configured" in warning and "internal_error" in warning
    assert "run the cell again in a moment" not in warning and "again will not help" in warning
    assert "%puter_ocr --test" in warning


def test_the_recorded_500_is_a_configuration_not_a_fault() -> None:
    reply = recorded("ocr-recognize-toplevel-test-mode.json")
    body = reply["body"]
    err = error_from_reply(reply["status"], "application/json", json.dumps(body).encode())
    assert isinstance(err, NotConfigured) and isinstance(err, ServerError)
    assert err.message == "No OCR provider configured"


@pytest.mark.parametrize(
    ("cell", "magic"),
    [("%%puter_speak\nHello", "%%puter_speak?"), ("%%puter_image\nA kite", "%%puter_image?")],
)
def test_a_400_points_to_the_magics_own_help(
    ip: InteractiveShell, keyless: Sandbox, cell: str, magic: str
) -> None:
    outputs, _ = run(ip, cell)
    warning = _text(outputs)
    assert "HTTP 400" in warning and f"check this cell's options ({magic})" in warning
    assert "(%%puter?)" not in warning


def test_a_404_about_a_method_does_not_say_check_the_origin(ip: InteractiveShell, keyless: Sandbox) -> None:
    outputs, _ = run(ip, "%puter_call puter-chat-completion no_such_method")
    warning = _text(outputs)
    assert "Method 'no_such_method' not found" in warning
    assert "check the origin" not in warning and "(%puter_call?)" in warning


def test_a_recorded_app_not_found_does_not_say_check_the_origin(
    ip: InteractiveShell, recorded_puter: RecordedPuter
) -> None:
    os.environ["PUTER_AUTH_TOKEN"] = "recorded-token"
    run(ip, f"%puter_login --origin {recorded_puter.origin}")
    outputs, _ = run(ip, '%puter_call app-telemetry user_count {"app_uuid": "app-00000000"}')
    warning = _text(outputs)
    assert "App not found" in warning and "HTTP 404" in warning
    assert "check the origin" not in warning and "Puter: not found" in warning


def test_a_404_from_the_wrong_host_still_says_check_the_origin(ip: InteractiveShell) -> None:
    with Sandbox(api_host="api.puter.localhost") as sandbox:
        os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
        wrong = f"http://127.0.0.1:{sandbox.port}"
        outputs, _ = run(ip, f"%puter_login --origin {wrong}")
    warning = _text(outputs)
    assert "HTTP 404" in warning and "check the origin" in warning
    err = error_from_reply(
        404, "application/json", b'{"error":"Not Found","message":"Not Found","code":"not_found"}'
    )
    assert isinstance(err, NotFound) and err.about_route
