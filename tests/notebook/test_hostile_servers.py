"""A corpus of broken and hostile server behaviours, each through %%puter in a real shell.

Every case must end in exactly one styled warning within the configured timeouts, leave
the shell responsive and leave the conversation as it was. All servers are on loopback.
"""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.sandbox import Fault, Sandbox

from ..conftest import RawServer
from ..shell import magics_of, run

CONNECT, READ, TOTAL = 1.0, 1.0, 3.0
HTML_401 = "<html><head><title>401 Authorization Required</title></head><body>nginx</body></html>"


def text_lines(n: int) -> list[dict[str, Any]]:
    return [{"type": "text", "text": f"part{i} "} for i in range(n)]


# (id, faults to queue, warning title expected, also accept a partial reply + warning)
SANDBOX_CASES: list[tuple[str, list[Fault], str]] = [
    ("html-502", [Fault.html_page(502)], "Puter error"),
    (
        "html-503-storm",
        [Fault(status=503, body="<html>busy</html>", content_type="text/html", times=50)],
        "Puter error",
    ),
    ("html-504", [Fault.html_page(504, "504 Gateway Time-out")], "Puter error"),
    ("empty-200-json", [Fault.empty()], "Puter error"),
    ("empty-200-no-type", [Fault.empty(200, None)], "Puter error"),
    ("success-without-result", [Fault.raw({"success": True})], "Puter error"),
    ("result-wrong-type", [Fault.raw({"success": True, "result": 42})], "Puter error"),
    (
        "content-wrong-type",
        [Fault.raw({"success": True, "result": {"message": {"content": 5}}})],
        "Puter error",
    ),
    (
        "invalid-utf8",
        [Fault.raw(b'{"success":true,"result":{"message":{"content":"\xff\xfe"}}}')],
        "Puter error",
    ),
    ("ten-mb-garbage", [Fault.raw(b"x" * 10_000_000)], "Puter error"),
    ("truncated-length", [Fault.truncated()], "Network error"),
    ("truncated-json-text", [Fault.raw(b'{"success":true,"result":{"mess')], "Puter error"),
    ("deeply-nested-json", [Fault.raw(b"[" * 200_000 + b"]" * 200_000)], "Puter error"),
    (
        "ndjson-garbage-lines",
        [Fault.stream(['{"type":"text","text":"ok "}', "<html>oops</html>"])],
        "Puter error",
    ),
    ("ndjson-array-line", [Fault.stream(["[1, 2, 3]"])], "Puter error"),
    ("stream-stalls-forever", [Fault.stream(text_lines(3), stall=3600)], "Timeout"),
    (
        "reset-mid-json",
        [Fault(body=b'{"success":true,"result":{"message":{"content":"abc' + b"d" * 5000, reset=100)],
        "Network error",
    ),
    ("reset-mid-stream", [Fault.stream(text_lines(50), reset=200)], "Network error"),
    (
        "slow-drip-json",
        [
            Fault(
                body=b'{"success":true,"result":{"message":{"content":"' + b"z" * 10_000 + b'"}}}',
                drip=1,
                pace=0.2,
            )
        ],
        "Timeout",
    ),
    (
        "slow-drip-stream",
        [
            Fault(
                body=b'{"type":"text","text":"' + b"y" * 10_000 + b'"}\n',
                drip=1,
                pace=0.2,
                content_type="application/x-ndjson",
            )
        ],
        "Timeout",
    ),
    ("reply-never-starts", [Fault.never_starts(3600)], "Timeout"),
    (
        "redirect-other-host",
        [Fault(status=302, headers={"Location": "http://127.0.0.2:9/steal"}, body=b"")],
        "Network error",
    ),
    (
        "redirect-loop",
        [Fault(status=307, headers={"Location": "/drivers/call"}, body=b"", times=10)],
        "Network error",
    ),
    ("401-html", [Fault(status=401, body=HTML_401, content_type="text/html")], "Sign-in not accepted"),
    (
        "429-storm",
        [
            Fault(
                status=429,
                body={"message": "Too many requests.", "code": "too_many_requests"},
                headers={"Retry-After": "0.2"},
                times=100,
            )
        ],
        "Rate limited",
    ),
    (
        "captive-portal-page",
        [Fault.raw("<html><body>Log in to Wi-Fi</body></html>", content_type="text/html")],
        "Puter error",
    ),
    (
        "legacy-error",
        [Fault.legacy_error("no_implementation_available", "No implementation", 502)],
        "Puter error",
    ),
    ("internal-error", [Fault.error(500, "internal_error", "Internal Server Error")], "Puter error"),
    ("wrong-host-404", [Fault.error(404, "not_found", "Not Found")], "Puter error"),
    (
        "payload-too-large",
        [Fault.error(413, "client_bad_request", "Request entity too large")],
        "Puter error",
    ),
    ("audio-instead-of-json", [Fault.raw(b"ID3\x03\x00binary", content_type="audio/mpeg")], "Puter error"),
    ("bad-gzip", [Fault(body=b"not gzip at all", headers={"Content-Encoding": "gzip"})], "Puter error"),
    (
        "error-line-first",
        [Fault.stream([{"type": "error", "message": "upstream failed"}])],
        "Reply broke off",
    ),
    (
        "gzip-json-error",
        [
            Fault(
                status=402,
                body=gzip.compress(b'{"message":"No usage left","code":"insufficient_funds"}'),
                headers={"Content-Encoding": "gzip"},
            )
        ],
        "Out of allowance",
    ),
]

RAW_CASES: list[tuple[str, bytes, str]] = [
    ("not-http", b"SSH-2.0-OpenSSH_9.6\r\n", "Network error"),
    ("closes-silently", b"", "Network error"),
    (
        "bad-chunk-size",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nhello\r\n",
        "Network error",
    ),
    # Headers that never end, then a close: a 200 with nothing in it, a malformed reply.
    ("status-line-only", b"HTTP/1.1 200 OK\r\n", "Puter error"),
]


@pytest.fixture
def shell(ip: InteractiveShell, sandbox: Sandbox) -> InteractiveShell:
    import os

    magics = magics_of(ip)
    magics.connect_timeout, magics.read_timeout, magics.total_timeout = CONNECT, READ, TOTAL
    magics.max_retries = 3
    os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
    run(ip, f"%puter_login --origin {sandbox.origin}")
    magics.session.client._transport.max_retry_wait = 1.0
    magics.default_model = "sandbox-tutor"
    run(ip, "%%puter\nAn earlier question")  # the conversation that must survive
    sandbox.clear()
    return ip


def check_one_warning(
    ip: InteractiveShell, title: str, started: float, outputs: list[dict[str, Any]]
) -> None:
    elapsed = time.monotonic() - started
    warnings = [o for o in outputs if "puter-warning" in o.get("text/html", "")]
    assert len(warnings) == 1, outputs
    assert title in warnings[0]["text/html"], warnings[0]["text/plain"]
    assert warnings[0]["text/plain"].startswith("Puter: ")
    assert "Traceback" not in json.dumps(outputs)
    # Within the configured timeouts (a total deadline, one retry wait, some slack).
    assert elapsed < TOTAL + 1.0 + 3.0, elapsed
    thread = magics_of(ip).session.conversations.get()
    assert [e.user for e in thread.exchanges] == ["An earlier question"]
    assert ip.run_cell("1 + 1").result == 2  # still responsive


def _is_stream_fault(faults: list[Fault]) -> bool:
    return any(f.lines is not None or f.content_type == "application/x-ndjson" for f in faults)


# Each case as a streamed %%puter cell, and (unless it is a stream fault) with --no-stream.
RUNS = [
    pytest.param(faults, title, stream, id=f"{name}-{'stream' if stream else 'no-stream'}")
    for name, faults, title in SANDBOX_CASES
    for stream in (True, False)
    if stream or not _is_stream_fault(faults)
]


@pytest.mark.parametrize(("faults", "title", "stream"), RUNS)
def test_broken_sandbox_replies(
    shell: InteractiveShell, sandbox: Sandbox, faults: list[Fault], title: str, stream: bool
) -> None:
    sandbox.inject(*faults)
    started = time.monotonic()
    outputs, result = run(shell, "%%puter" + ("" if stream else " --no-stream") + "\nHello?")
    assert result.success, result.error_in_exec
    check_one_warning(shell, title, started, outputs)


@pytest.mark.parametrize(("reply", "title"), [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES])
def test_non_http_servers(shell: InteractiveShell, raw_server: RawServer, reply: bytes, title: str) -> None:
    magics = magics_of(shell)
    client = magics.session.client
    # Point the signed-in session at the broken server, keeping the token.
    from puter_magic import PuterClient

    magics.session.client = PuterClient(
        raw_server.origin, client._transport._token, timeout=(CONNECT, READ), total_timeout=TOTAL
    )
    raw_server.replies.append(reply)
    started = time.monotonic()
    outputs, result = run(shell, "%%puter\nHello?")
    assert result.success
    check_one_warning(shell, title, started, outputs)


def test_a_sound_reply_gives_no_warning(shell: InteractiveShell) -> None:
    """The control case: the same harness with a healthy server shows a reply and no
    warning, so the cases above fail if the harness found warnings everywhere."""
    outputs, result = run(shell, "%%puter\nHello?")
    assert result.success
    assert not [o for o in outputs if "puter-warning" in o.get("text/html", "")], outputs
    assert "Turn 2" in outputs[0]["text/plain"]
