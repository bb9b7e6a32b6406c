"""The sandbox's sign-in popup in Debian's Chromium, opened as puter.js opens it.

A small opener page, served here on a third loopback origin (``http://localhost:PORT``, apart
from the sandbox's ``puter.localhost`` and ``api.puter.localhost``), plays puter.js: it opens the
popup with ``window.open(url, "Puter", features)`` from a click, answers ``requestOrigin``, and
accepts ``puter.token`` only from the GUI origin, from its popup, with its ``msg_id``, once.
"""

from __future__ import annotations

import pathlib
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # the chromium fixture skips, saying how to install it
    PlaywrightError = Exception  # type: ignore[assignment,misc]

from puter_magic.sandbox import Sandbox
from puter_magic.sandbox.gui import GUI, Popup

from ..conftest import launch_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NAMESPACE = uuid.UUID("33de3768-8ee0-43e9-9e73-db192b97a5d8")  # Puter's, for origin → app uid
CHAT = {
    "interface": "puter-chat-completion",
    "driver": "ai-chat",
    "method": "complete",
    "args": {"messages": [{"role": "user", "content": "Hello"}], "model": "fake"},
}

OPENER = """<!doctype html>
<html><head><meta charset="utf-8"><title>opener</title></head>
<body><button id="signin">Sign in with Puter</button>
<script>
"use strict";
const q = new URLSearchParams(location.search);
const GUI = q.get("gui");
const guest = q.get("guest") === "1";
const silent = q.get("silent") === "1";  // never answer requestOrigin
const API = q.get("api");
let nextId = 0;
window.results = [];      // what each sign-in settled with
window.seen = [];         // every puter.token that arrived, accepted or not
window.handshakes = 0;
addEventListener("message", (event) => {
  if (event.origin !== GUI || !event.data) return;
  if (event.data.msg === "requestOrigin") {
    if (!silent) { window.handshakes++; event.source.postMessage({msg: "originResponse"}, GUI); }
    return;
  }
  if (event.data.msg !== "puter.token") return;
  window.seen.push({msg_id: event.data.msg_id, success: event.data.success});
  const attempt = window.attempt;
  if (!attempt || event.source !== attempt.popup) return;
  if (String(event.data.msg_id) !== String(attempt.msgId) || attempt.settled) return;
  attempt.settled = true;
  const d = event.data;
  window.results.push({success: d.success, token: d.token, app_uid: d.app_uid, username: d.username,
                       msg_id: d.msg_id, keys: Object.keys(d).sort().join(",")});
});
document.getElementById("signin").addEventListener("click", () => {
  const msgId = ++nextId;
  let url = GUI + "/action/sign-in?embedded_in_popup=true&msg_id=" + msgId;
  const session = window.crossOriginIsolated ? crypto.randomUUID() : null;
  if (session) url += "&cross_origin_isolated=true&signin_session=" + session;
  if (guest) url += "&attempt_temp_user_creation=true";
  const left = Math.round(screen.width / 2 - 300), top = Math.round(screen.height / 2 - 350);
  const features = "toolbar=no, location=no, directories=no, status=no, menubar=no, scrollbars=no, " +
    "resizable=no, copyhistory=no, width=600, height=700, top=" + top + ", left=" + left;
  const popup = window.open(url, "Puter", features);
  if (!popup) { window.results.push({error: "popup_blocked"}); return; }
  const attempt = window.attempt = {msgId: msgId, popup: popup, settled: false};
  if (session) {  // puter.js on an isolated page: poll the relay, do not watch the severed handle
    (async () => {
      while (!attempt.settled) {
        try {
          const r = await fetch(API + "/login/wait", {method: "POST",
            headers: {"Content-Type": "application/json"}, body: JSON.stringify({session: session})});
          if (r.ok) {
            const d = await r.json();
            attempt.settled = true;
            window.results.push({success: true, token: d.auth_token, via: "relay"});
            return;
          }
        } catch (e) { /* try again */ }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return;
  }
  const watch = setInterval(() => {
    if (!popup.closed) return;
    clearInterval(watch);
    setTimeout(() => {  // a grace period: the message may race the close
      if (!attempt.settled) { attempt.settled = true; window.results.push({error: "auth_window_closed"}); }
    }, 300);
  }, 100);
});
</script></body></html>"""


# The real puter.js 2.6.3 (pinned in tests/js, installed by .ci/setup) as a page's script: its
# own signIn() against the sandbox's GUI, then a chat through CORS with the token it got.
PUTERJS = pathlib.Path(__file__).resolve().parent.parent / "js/node_modules/@heyputer/puter.js/dist/puter.cjs"
PUTERJS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>puter.js opener</title>
<script>
const q = new URLSearchParams(location.search);
globalThis.PUTER_ORIGIN = q.get("gui");
globalThis.PUTER_API_ORIGIN = q.get("api");
window.results = [];
</script>
<script src="/puter.js"></script></head>
<body>
<button id="signin" onclick="puter.auth.signIn({attempt_temp_user_creation: true}).then(
  (r) => results.push(r), (e) => results.push({error: e}))">Sign in</button>
<button id="chat" onclick="puter.ai.chat('Hello', {model: 'fake'}).then(
  (r) => results.push({reply: JSON.stringify(r.message.content)}),
  (e) => results.push({error: JSON.stringify(e)}))">Chat</button>
</body></html>"""


class _OpenerHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind = OPENER.encode(), "text/html; charset=utf-8"
        if self.path.startswith("/puterjs"):
            body = PUTERJS_PAGE.encode()
        elif self.path == "/puter.js":
            body, kind = PUTERJS.read_bytes(), "text/javascript"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if self.path.startswith("/no-referrer"):
            self.send_header("Referrer-Policy", "no-referrer")
        if self.path.startswith("/isolated"):
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def opener_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OpenerHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def _sandbox() -> Iterator[Sandbox]:
    with Sandbox(gui_host="puter.localhost") as sb:
        yield sb


@pytest.fixture
def sb(_sandbox: Sandbox) -> Iterator[Sandbox]:
    yield _sandbox
    gui_of(_sandbox).reset_switches()


@pytest.fixture(scope="module")
def chromium(playwright: Any) -> Iterator[Any]:
    browser = launch_chromium(playwright)  # the run's one Playwright (tests/conftest.py)
    yield browser
    browser.close()


def _loopback_only(route: Any) -> None:
    host = route.request.url.split("/")[2].rsplit(":", 1)[0]
    if host in ("localhost", "127.0.0.1") or host.endswith(".localhost"):
        route.continue_()
    else:  # tests talk to no other network
        route.abort()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile: its first visit to the GUI origin."""
    ctx = chromium.new_context()
    ctx.route("**/*", _loopback_only)
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def gui_of(sb: Sandbox) -> GUI:
    assert sb.gui is not None
    return sb.gui


def record_of(sb: Sandbox, *events: str) -> Popup:
    """The last popup's record, once the page's reports of *events* have arrived (they are sent
    as the popup works, the last ones as it closes)."""
    deadline = time.monotonic() + 5
    while True:
        record = gui_of(sb).popups[-1]
        if set(events) <= set(record.events):
            return record
        assert time.monotonic() < deadline, record.events
        time.sleep(0.05)


def open_opener(
    context: Any, sb: Sandbox, opener_origin: str, *, guest: bool, path: str = "/", silent: bool = False
) -> Any:
    page = context.new_page()
    query = {
        "gui": sb.gui_origin,
        "api": sb.origin,
        "guest": "1" if guest else "0",
        "silent": "1" if silent else "0",
    }
    page.goto(f"{opener_origin}{path}?{urlencode(query)}")
    return page


def click_sign_in(page: Any) -> Any:
    with page.expect_popup() as info:
        page.click("#signin")
    popup = info.value
    popup.wait_for_load_state()
    return popup


def results(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.results"))


def settled(page: Any, count: int = 1) -> list[dict[str, Any]]:
    page.wait_for_function(f"window.results.length >= {count}")
    return results(page)


def api(sb: Sandbox, method: str, path: str, token: str, body: Any = None) -> requests.Response:
    host = sb.origin.split("//", 1)[1]
    return requests.request(
        method,
        f"http://127.0.0.1:{sb.port}{path}",
        json=body,
        timeout=5,
        headers={"Host": host, "Authorization": f"Bearer {token}"},
    )


def press(popup: Any, selector: str) -> None:
    """Click in the popup; a click whose handler closes the popup may outlive its page."""
    try:
        popup.click(selector)
    except PlaywrightError as error:
        if "closed" not in str(error):
            raise


def log_in(popup: Any, username: str = "learner", password: str = "sandbox-password") -> None:
    """On the signed-out popup (its signup form first, as Puter's), go to the login form and log in."""
    popup.locator("#signup-form").wait_for()
    popup.click("#to-login")
    popup.fill("#login-form input[name=username]", username)
    popup.fill("#login-form input[name=password]", password)
    press(popup, "#login-form button[type=submit]")


def sign_in_with_login(page: Any) -> dict[str, Any]:
    popup = click_sign_in(page)
    with popup.expect_event("close"):
        log_in(popup)
    return settled(page)[-1]


# -- the happy paths ------------------------------------------------------------------------------


def test_guest_on_a_first_visit_then_the_account_picker(
    context: Any, sb: Sandbox, opener_origin: str
) -> None:
    page = open_opener(context, sb, opener_origin, guest=True)
    popup = click_sign_in(page)
    popup.get_by_text("Creating a temporary account").wait_for()  # Puter's spinner
    popup.wait_for_event("close")
    [first] = settled(page)
    assert first["success"] is True and first["msg_id"] == "1"  # echoed as a string
    assert first["keys"] == "app_uid,msg,msg_id,success,token,username"
    guest = first["username"]
    assert guest != "learner" and gui_of(sb).accounts[guest].is_temp
    # the app uid is Puter's formula on the opener's origin
    assert first["app_uid"] == f"app-{uuid.uuid5(NAMESPACE, opener_origin)}"
    record = record_of(sb, "origin")
    assert (record.origin_via, record.opener_origin) == ("referrer", opener_origin + "/")
    # the token calls the drivers from anywhere, and whoami says what it is
    call = api(sb, "POST", "/drivers/call", first["token"], CHAT)
    assert call.status_code == 200 and call.json()["success"] is True
    who = api(sb, "GET", "/whoami", first["token"]).json()
    assert (who["username"], who["is_temp"], who["app_name"]) == (guest, True, first["app_uid"])
    assert "email" not in who

    # Second visit, same browser: no new guest, the account picker, and nothing until a click.
    popup = click_sign_in(page)
    account = popup.locator(f"button.account[data-username='{guest}']")
    account.wait_for()
    assert "temp_user" not in gui_of(sb).popups[-1].events
    popup.wait_for_timeout(1000)
    assert len(results(page)) == 1 and not popup.is_closed()
    with popup.expect_event("close"):
        press(popup, f"button.account[data-username='{guest}']")
    second = settled(page, 2)[1]
    assert (second["success"], second["username"], second["msg_id"]) == (True, guest, "2")
    assert second["app_uid"] == first["app_uid"] and second["token"] != first["token"]
    assert len([u for u in gui_of(sb).accounts.values() if u.is_temp and u.username == guest]) == 1


def test_no_guest_without_attempt_temp_user_creation(context: Any, sb: Sandbox, opener_origin: str) -> None:
    page = open_opener(context, sb, opener_origin, guest=False)
    popup = click_sign_in(page)
    popup.locator("#signup-form").wait_for()  # a first visit, but no guest was asked for
    assert popup.locator(".close").count() == 0  # Puter's signup form has no close button
    with popup.expect_event("close"):
        log_in(popup)
    [result] = settled(page)
    assert (result["success"], result["username"]) == (True, "learner")
    assert "temp_user" not in gui_of(sb).popups[-1].events
    assert api(sb, "GET", "/whoami", result["token"]).json()["is_temp"] is False


def test_a_wrong_password_says_so_and_stays(context: Any, sb: Sandbox, opener_origin: str) -> None:
    page = open_opener(context, sb, opener_origin, guest=False)
    popup = click_sign_in(page)
    log_in(popup, password="not-it")
    popup.get_by_role("alert").get_by_text("Incorrect username or password").wait_for()
    assert results(page) == []
    with popup.expect_event("close"):
        popup.fill("#login-form input[name=password]", "sandbox-password")
        press(popup, "#login-form button[type=submit]")
    assert settled(page)[0]["success"] is True


def test_signing_up_in_the_popup(context: Any, sb: Sandbox, opener_origin: str) -> None:
    page = open_opener(context, sb, opener_origin, guest=False)
    popup = click_sign_in(page)
    name = "newcomer-" + uuid.uuid4().hex[:6]
    popup.fill("#signup-form input[name=username]", name)
    popup.fill("#signup-form input[name=email]", "newcomer@example.org")
    popup.fill("#signup-form input[name=password]", "a-good-password")
    with popup.expect_event("close"):
        press(popup, "#signup-form button[type=submit]")
    assert (settled(page)[0]["username"], gui_of(sb).accounts[name].is_temp) == (name, False)


# -- the opener's origin ---------------------------------------------------------------------------


def test_a_stripped_referrer_uses_the_handshake(context: Any, sb: Sandbox, opener_origin: str) -> None:
    page = open_opener(context, sb, opener_origin, guest=False, path="/no-referrer")
    popup = click_sign_in(page)
    assert popup.evaluate("document.referrer") == ""
    log_in(popup)
    [result] = settled(page)
    record = record_of(sb, "origin")
    assert (record.origin_via, record.opener_origin) == ("handshake", opener_origin)
    assert page.evaluate("window.handshakes") == 1
    assert result["success"] is True and result["app_uid"] == f"app-{uuid.uuid5(NAMESPACE, opener_origin)}"


def test_ignore_referrer_switch_forces_the_handshake(context: Any, sb: Sandbox, opener_origin: str) -> None:
    gui_of(sb).ignore_referrer = True
    page = open_opener(context, sb, opener_origin, guest=False)
    popup = click_sign_in(page)
    assert popup.evaluate("document.referrer") == opener_origin + "/"
    log_in(popup)
    assert settled(page)[0]["success"] is True
    assert record_of(sb, "origin").origin_via == "handshake" and page.evaluate("window.handshakes") == 1


def test_no_referrer_and_no_answer_stalls_and_posts_nothing(
    context: Any, sb: Sandbox, opener_origin: str
) -> None:
    page = open_opener(context, sb, opener_origin, guest=True, path="/no-referrer", silent=True)
    popup = click_sign_in(page)
    popup.get_by_text("No referrer found").wait_for(timeout=10_000)  # after the handshake's 5 s
    assert not popup.is_closed() and results(page) == [] and page.evaluate("window.seen") == []
    record_of(sb, "no_origin")
    popup.close()  # the user gives up
    assert settled(page) == [{"error": "auth_window_closed"}]


# -- cancelling and the failure switches ----------------------------------------------------------------


def test_dismissing_the_picker_posts_failure(context: Any, sb: Sandbox, opener_origin: str) -> None:
    page = open_opener(context, sb, opener_origin, guest=False)
    assert sign_in_with_login(page)["success"] is True
    for dismiss in ("#picker-cancel", "#picker-close"):
        before = len(results(page))
        popup = click_sign_in(page)
        popup.locator("button.account[data-username=learner]").wait_for()
        with popup.expect_event("close"):
            press(popup, dismiss)
        last = settled(page, before + 1)[-1]
        assert (last["success"], last["token"], last["keys"]) == (False, None, "msg,msg_id,success,token")


def test_closing_the_popup_posts_nothing(context: Any, sb: Sandbox, opener_origin: str) -> None:
    page = open_opener(context, sb, opener_origin, guest=False)
    popup = click_sign_in(page)
    popup.locator("#signup-form").wait_for()
    popup.close()
    assert settled(page) == [{"error": "auth_window_closed"}]
    assert page.evaluate("window.seen") == []


def test_temp_users_refused_shows_the_signup_form(context: Any, sb: Sandbox, opener_origin: str) -> None:
    gui_of(sb).temp_users = "refused"
    gui_of(sb).temp_user_delay = 0.2
    page = open_opener(context, sb, opener_origin, guest=True)
    popup = click_sign_in(page)
    popup.locator("#signup-form").wait_for()
    assert results(page) == []
    with popup.expect_event("close"):
        log_in(popup)
    assert settled(page)[0]["username"] == "learner"
    record_of(sb, "temp_user", "temp_user_refused")


def test_signup_blocked_shows_an_overlay_and_posts_nothing(
    context: Any, sb: Sandbox, opener_origin: str
) -> None:
    gui_of(sb).signup_blocked = True
    gui_of(sb).temp_user_delay = 0.2
    page = open_opener(context, sb, opener_origin, guest=True)
    popup = click_sign_in(page)
    popup.locator("#blocked").get_by_text("Request Code").wait_for()
    popup.wait_for_timeout(500)
    assert not popup.is_closed() and page.evaluate("window.seen") == []
    popup.close()
    assert settled(page) == [{"error": "auth_window_closed"}]


def test_each_exchange_failure_posts_failure(context: Any, sb: Sandbox, opener_origin: str) -> None:
    page = open_opener(context, sb, opener_origin, guest=False)
    assert sign_in_with_login(page)["success"] is True
    for failure in ("bad_request", "app_blocked", "email_confirmation_required", "too_many_requests"):
        gui_of(sb).exchange_failure = failure
        before = len(results(page))
        popup = click_sign_in(page)
        with popup.expect_event("close"):
            press(popup, "button.account[data-username=learner]")
        last = settled(page, before + 1)[-1]
        assert (last["success"], last["token"]) == (False, None), failure
        record_of(sb, "exchange_failed")


def test_the_success_message_posted_twice(context: Any, sb: Sandbox, opener_origin: str) -> None:
    gui_of(sb).post_twice = True
    page = open_opener(context, sb, opener_origin, guest=False)
    result = sign_in_with_login(page)
    page.wait_for_function("window.seen.length >= 2")
    assert page.evaluate("window.seen") == [{"msg_id": "1", "success": True}] * 2
    assert len(results(page)) == 1 and result["success"] is True  # the opener settled once


def test_a_slow_popup_still_delivers(context: Any, sb: Sandbox, opener_origin: str) -> None:
    gui_of(sb).boot_delay = 4.0
    page = open_opener(context, sb, opener_origin, guest=False)
    popup = click_sign_in(page)
    assert popup.locator("#status").inner_text() == "Loading Puter…"
    assert popup.locator("#signup-form").count() == 0
    with popup.expect_event("close"):
        log_in(popup)
    assert settled(page)[0]["success"] is True


def test_signed_out_by_the_server_means_the_forms_again(
    context: Any, sb: Sandbox, opener_origin: str
) -> None:
    page = open_opener(context, sb, opener_origin, guest=True)
    gui_of(sb).temp_user_delay = 0.2
    popup = click_sign_in(page)
    popup.wait_for_event("close")
    assert settled(page)[0]["success"] is True
    gui_of(sb).sign_out()  # the GUI session the browser holds is gone; not a first visit any more
    popup = click_sign_in(page)
    popup.locator("#signup-form").wait_for()
    assert popup.locator("button.account").count() == 0


# -- the token page ------------------------------------------------------------------------------------


def test_copyauth_shows_a_token_to_paste(context: Any, sb: Sandbox) -> None:
    page = context.new_page()
    page.goto(f"{sb.gui_origin}/?action=copyauth")
    page.fill("#login-form input[name=username]", "learner")
    page.fill("#login-form input[name=password]", "sandbox-password")
    page.click("#login-form button[type=submit]")
    field = page.locator("#copy-token")
    field.wait_for()
    token = field.input_value()
    assert token and api(sb, "POST", "/drivers/call", token, CHAT).status_code == 200
    # signed in now: the page shows a token at once
    page.reload()
    assert page.locator("#copy-token").input_value() not in ("", token)


# -- a cross-origin-isolated opener: the /login/set → /login/wait relay ------------------------------------


def test_an_isolated_opener_gets_the_token_through_the_relay(
    context: Any, sb: Sandbox, opener_origin: str
) -> None:
    page = open_opener(context, sb, opener_origin, guest=False, path="/isolated")
    assert page.evaluate("window.crossOriginIsolated") is True
    with context.expect_page() as info:  # under COOP the popup is not the page's to watch
        page.click("#signin")
    popup = info.value
    assert popup.evaluate("window.opener") is None
    with popup.expect_event("close"):
        log_in(popup)
    [result] = settled(page)
    assert (result["success"], result["via"]) == (True, "relay")
    assert page.evaluate("window.seen") == []  # nothing came by postMessage
    assert record_of(sb, "relay_set").posted == []
    who = api(sb, "GET", "/whoami", result["token"]).json()
    assert who["app_name"] == f"app-{uuid.uuid5(NAMESPACE, opener_origin)}"


def test_an_isolated_opener_never_gets_a_guest(context: Any, sb: Sandbox, opener_origin: str) -> None:
    """As in Puter: the guest branch delivers by postMessage only, which cannot reach it."""
    gui_of(sb).temp_user_delay = 0.2
    page = open_opener(context, sb, opener_origin, guest=True, path="/isolated")
    with context.expect_page() as info:
        page.click("#signin")
    popup = info.value
    popup.wait_for_event("close")
    assert record_of(sb, "no_opener").posted == []  # it had no opener to post to
    page.wait_for_timeout(1500)
    assert results(page) == [] and page.evaluate("window.seen") == []


# -- the real puter.js ----------------------------------------------------------------------------------


def test_the_real_puter_js_signs_in_and_chats(context: Any, sb: Sandbox, opener_origin: str) -> None:
    """puter.js 2.6.3's own puter.auth.signIn() gets a guest's token from the sandbox's popup,
    and puter.ai.chat() uses it from the page, across origins."""
    if not PUTERJS.exists():
        pytest.skip("puter.js is not installed: npm ci --prefix tests/js (bash .ci/setup does it)")
    gui_of(sb).temp_user_delay = 0.2
    page = context.new_page()
    page.goto(f"{opener_origin}/puterjs?{urlencode({'gui': sb.gui_origin, 'api': sb.origin})}")
    with page.expect_popup() as info:
        page.click("#signin")
    info.value.wait_for_event("close")
    [signed] = settled(page)
    assert signed["success"] is True and gui_of(sb).accounts[signed["username"]].is_temp
    assert signed["app_uid"] == f"app-{uuid.uuid5(NAMESPACE, opener_origin)}"
    page.click("#chat")
    reply = settled(page, 2)[1]
    assert "error" not in reply, reply
    call = sb.calls("complete")[-1]
    assert call.headers["Origin"] == opener_origin and call.token == signed["token"]
