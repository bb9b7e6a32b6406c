"""The sign-in button's page side (popup.js), rule by rule, in Node with a stand-in browser
(popup_harness.mjs): how it opens Puter's popup, which messages it answers and which it takes.

The same rules are exercised end to end in Chromium by tests/e2e/test_signin_browser.py; here
each one is checked alone, in a second.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from puter_magic.notebook import popup

HARNESS = Path(__file__).with_name("popup_harness.mjs")
GUI = "https://puter.com"
TOKEN = {"msg": "puter.token", "success": True, "token": "app-token-1", "app_uid": "app-1", "username": "u"}


def page(tmp_path: Path, *steps: dict[str, Any], **options: Any) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (bash .ci/setup installs it)")
    module = tmp_path / "popup.mjs"  # popup.js is an ES module; Node knows it by this suffix
    module.write_text(Path(popup.__file__).with_name("popup.js").read_text())
    script = tmp_path / "steps.json"
    script.write_text(json.dumps({"gui": GUI, **options, "steps": list(steps)}))
    done = subprocess.run(
        [node, str(HARNESS), module.as_uri(), str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def kinds(result: dict[str, Any]) -> list[str]:
    return [m["kind"] for m in result["sent"]]


def click() -> dict[str, Any]:
    return {"do": "click"}


def message(data: Any, origin: str = GUI, source: Any = None) -> dict[str, Any]:
    step = {"do": "message", "origin": origin, "data": data}
    if source is not None:
        step["source"] = source
    return step


def test_the_click_opens_puters_popup_as_puterjs_does(tmp_path: Path) -> None:
    result = page(tmp_path, click(), click())
    assert kinds(result) == ["rendered", "opened", "opened"]
    (url1, name1, features1), (url2, name2, _) = result["opened"]
    query = parse_qs(urlsplit(url1).query)
    assert url1.startswith(f"{GUI}/action/sign-in?") and query["embedded_in_popup"] == ["true"]
    assert query["attempt_temp_user_creation"] == ["true"]
    assert name1 == name2 == "Puter"
    assert features1.startswith("toolbar=no, location=no, directories=no, status=no, menubar=no")
    assert "width=600, height=700, top=150, left=500" in features1
    assert "noopener" not in features1 and "noreferrer" not in features1
    ids = [parse_qs(urlsplit(url).query)["msg_id"][0] for url in (url1, url2)]
    assert ids[0] != ids[1] and all(len(i) == 24 for i in ids)  # fresh per click, unguessable
    assert "origin" not in query  # never an origin in the URL: Puter would not believe it


def test_no_guest_leaves_out_the_temp_user_flag(tmp_path: Path) -> None:
    result = page(tmp_path, click(), guest=False)
    assert "attempt_temp_user_creation" not in result["opened"][0][0]


def test_request_origin_is_answered_only_for_the_gui_and_the_popup(tmp_path: Path) -> None:
    ask = {"msg": "requestOrigin"}
    result = page(
        tmp_path,
        message(ask),  # before any click: nobody to answer
        click(),
        message(ask, origin="https://evil.example"),
        message(ask, source="other-window"),
        message(ask),
    )
    [replies] = result["replies"]
    assert replies == [{"data": {"msg": "originResponse"}, "target": GUI}]  # once, to the GUI only


def test_a_token_counts_only_from_the_gui_the_popup_and_the_click(tmp_path: Path) -> None:
    right = {**TOKEN, "msg_id": "$msg_id"}
    result = page(
        tmp_path,
        message(right),  # before any click
        click(),
        message(right, origin="https://evil.example"),
        message(right, origin="https://puter.com.evil.example"),
        message(right, source="other-window"),
        message({**TOKEN, "msg_id": "1"}),
        message({**right, "msg": "puter.tokens"}),
        message("puter.token"),
        message(None),
    )
    assert kinds(result) == ["rendered", "opened"]  # none of them reached the kernel
    result = page(tmp_path, click(), message(right), message(right), message({**right, "token": "second"}))
    assert result["sent"][-1] == {"kind": "token", "token": "app-token-1"}
    assert kinds(result) == ["rendered", "opened", "token"]  # settled once: a duplicate changes nothing
    assert result["line"] == "Signing in…"


def test_an_answer_without_a_token_cancels(tmp_path: Path) -> None:
    for data in (
        {"msg": "puter.token", "success": False, "token": None, "msg_id": "$msg_id"},
        {**TOKEN, "success": "true", "msg_id": "$msg_id"},
        {**TOKEN, "token": "", "msg_id": "$msg_id"},
        {**TOKEN, "token": 42, "msg_id": "$msg_id"},
    ):
        result = page(tmp_path, click(), message(data))
        assert result["sent"][-1] == {"kind": "cancelled", "reason": "refused"}
        assert result["line"].startswith("Sign-in was cancelled; nothing changed")


def test_a_closed_popup_cancels_after_a_grace_for_a_message_on_its_way(tmp_path: Path) -> None:
    result = page(tmp_path, click(), {"do": "close"}, {"do": "wait", "ms": 900})
    assert result["sent"][-1] == {"kind": "cancelled", "reason": "closed"}
    # The popup posts, then closes: a token arriving in the grace still counts.
    right = {**TOKEN, "msg_id": "$msg_id"}
    result = page(
        tmp_path,
        click(),
        {"do": "close"},
        {"do": "wait", "ms": 150},
        message(right),
        {"do": "wait", "ms": 900},
    )
    assert kinds(result) == ["rendered", "opened", "token"]


def test_a_blocked_popup_says_so_and_the_button_stays(tmp_path: Path) -> None:
    result = page(tmp_path, {"do": "block"}, click())
    assert kinds(result) == ["rendered", "blocked"]
    assert result["line"].startswith("The browser blocked the sign-in popup.")
    assert result["buttonShown"]


def test_a_view_that_cannot_open_popups_says_so(tmp_path: Path) -> None:
    result = page(tmp_path, protocol="vscode-webview:")
    assert result["sent"] == [{"kind": "rendered", "popups": False}]
    assert not result["buttonShown"] and f"{GUI}/?action=copyauth" in result["line"]
    assert result["listeners"] == 0  # it listens to no message at all


def test_signed_in_the_row_becomes_the_kernels_note(tmp_path: Path) -> None:
    """A click after the cell ended (--no-wait) ends as the styled "Signed in…" note a waiting
    cell shows, not as a plain line; without the note's HTML, the plain line as before."""
    note = '<div class="puter-note" style="x"><strong>Signed in to https://api.puter.com as u</strong></div>'
    signed = {"state": "signed-in", "message": "Signed in to https://api.puter.com as u", "note_html": note}
    result = page(tmp_path, {"do": "kernel", "set": signed})
    assert result["rowHtml"] == note and not result["buttonShown"]
    plain = page(tmp_path, {"do": "kernel", "set": {**signed, "note_html": ""}})
    assert plain["rowHtml"] is None and plain["line"] == "Signed in to https://api.puter.com as u"
