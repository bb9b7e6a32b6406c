"""The sandbox plays Puter's GUI site: two origins on one port, GUI sessions, guest accounts,
the app-token exchange and what app tokens can do (HTTP level; the popup in a real browser is
tests/e2e/test_signin_popup.py)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from puter_magic.sandbox import Sandbox
from puter_magic.sandbox.gui import GUI, app_uid_for_origin, normalize_origin

NOTEBOOK = "http://localhost:8888"
CHAT = {
    "interface": "puter-chat-completion",
    "driver": "ai-chat",
    "method": "complete",
    "args": {"messages": [{"role": "user", "content": "Hello"}], "model": "fake"},
}


class Site:
    """Requests to one of the sandbox's origins (the Host header names it; 127.0.0.1 carries it)."""

    def __init__(self, sandbox: Sandbox, origin: str) -> None:
        self.base = f"http://127.0.0.1:{sandbox.port}"
        self.host = origin.split("//", 1)[1]

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        return self.request("GET", path, token, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, token, json=body, **kw)

    def request(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = {"Host": self.host, **kw.pop("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base + path, headers=headers, timeout=5, **kw)


@pytest.fixture(scope="module")
def _gui_sandbox() -> Iterator[Sandbox]:
    with Sandbox(gui_host="puter.localhost") as sb:
        yield sb


@pytest.fixture
def sb(_gui_sandbox: Sandbox) -> Iterator[Sandbox]:
    yield _gui_sandbox
    gui_of(_gui_sandbox).reset_switches()


def gui_of(sb: Sandbox) -> GUI:
    assert sb.gui is not None
    return sb.gui


def api(sb: Sandbox) -> Site:
    return Site(sb, sb.origin)


def site(sb: Sandbox) -> Site:
    return Site(sb, sb.gui_origin)


def login(sb: Sandbox, username: str = "learner", password: str = "sandbox-password") -> str:
    reply = site(sb).post("/login", {"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


def app_token(sb: Sandbox, session: str, origin: str = NOTEBOOK + "/") -> dict[str, Any]:
    reply = api(sb).post("/auth/get-user-app-token", {"origin": origin}, token=session)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


# -- the app uid -----------------------------------------------------------------------------------


def test_app_uid_is_puters_formula() -> None:
    expected = "app-2eed5947-eadd-5a16-9ee1-a90baebf41cb"  # Puter's uid of http://localhost:8888
    assert app_uid_for_origin("http://localhost:8888") == expected
    # a referrer (trailing slash, a path) and an upper-case host name are the same origin
    assert app_uid_for_origin("http://localhost:8888/") == expected
    assert app_uid_for_origin("http://LOCALHOST:8888/lab/tree/x.ipynb") == expected
    ns = uuid.UUID("33de3768-8ee0-43e9-9e73-db192b97a5d8")
    assert app_uid_for_origin("https://example.org:443/") == f"app-{uuid.uuid5(ns, 'https://example.org')}"
    assert normalize_origin("http://[::1]:8888/") == "http://[::1]:8888"
    for bad in ("vscode-webview://abc", "null", "file:///tmp/x.html", "", "http://"):
        assert app_uid_for_origin(bad) is None


def test_exchange_gives_the_uid_of_the_origin(sb: Sandbox) -> None:
    session = login(sb)
    reply = app_token(sb, session, "http://localhost:8888/")
    assert reply["app_uid"] == "app-2eed5947-eadd-5a16-9ee1-a90baebf41cb"
    assert claims(reply["token"]) | {"auth_id": "-"} == {
        "type": "app-under-user",
        "version": "2",
        "user_uid": "00000000-0000-4000-8000-000000000001",
        "app_uid": reply["app_uid"],
        "session_uid": claims(reply["token"])["session_uid"],
        "auth_id": "-",
    }


# -- two origins on one port ------------------------------------------------------------------------


def test_two_origins_on_one_port(sb: Sandbox) -> None:
    assert sb.origin == f"http://api.puter.localhost:{sb.port}"
    assert sb.gui_origin == f"http://puter.localhost:{sb.port}"
    page = site(sb).get("/action/sign-in", params={"embedded_in_popup": "true", "msg_id": "1"})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "Cross-Origin-Opener-Policy" not in page.headers
    assert 'id="puter-config"' in page.text
    assert site(sb).get("/", params={"embedded_in_popup": "1"}).status_code == 200
    assert site(sb).get("/", params={"action": "copyauth"}).status_code == 200
    # the API is not on the GUI origin, the GUI's pages are not on the API origin
    assert site(sb).post("/drivers/call", CHAT, token=sb.token).status_code == 404
    assert api(sb).post("/login", {"username": "learner", "password": "sandbox-password"}).status_code == 404
    assert api(sb).post("/drivers/call", CHAT, token=sb.token).status_code == 200


def test_a_page_records_what_it_was_asked(sb: Sandbox) -> None:
    site(sb).get(
        "/action/sign-in",
        params={
            "embedded_in_popup": "true",
            "msg_id": "7",
            "attempt_temp_user_creation": "true",
            "opener_origin": "x",
        },
    )
    popup = gui_of(sb).popups[-1]
    assert (popup.path, popup.msg_id, popup.embedded, popup.attempt_temp_user_creation) == (
        "/action/sign-in",
        "7",
        True,
        True,
    )
    # the page's script reports its steps; a report names its page load
    site(sb).post(
        "/_sandbox/popup-event",
        {"load": popup.load_id, "event": "origin", "detail": {"origin": NOTEBOOK + "/", "via": "handshake"}},
    )
    assert (popup.events, popup.opener_origin, popup.origin_via) == (["origin"], NOTEBOOK + "/", "handshake")


def test_the_page_config_cannot_end_its_script(sb: Sandbox) -> None:
    gui = gui_of(sb)
    sb_username, sb.username = sb.username, "</script><script>alert(1)</script>"
    try:
        page = gui.page("/action/sign-in", {})
    finally:
        sb.username = sb_username
    assert b"</script><script>alert" not in page


def test_without_gui_host_nothing_changes() -> None:
    with Sandbox() as plain, Sandbox(api_host="api.puter.localhost") as paired:
        assert plain.gui is None and paired.gui is None
        assert plain.gui_origin == plain.origin
        assert paired.gui_origin == f"http://puter.localhost:{paired.port}"
        reply = requests.post(
            plain.origin + "/drivers/call",
            json=CHAT,
            timeout=5,
            headers={"Authorization": f"Bearer {plain.token}", "Origin": NOTEBOOK},
        )
        assert reply.status_code == 200 and "Access-Control-Allow-Origin" not in reply.headers
        assert requests.options(plain.origin + "/drivers/call", timeout=5).status_code == 501
        assert requests.post(plain.origin + "/auth/get-user-app-token", timeout=5).status_code == 404
        # the paired sandbox's GUI host still gets the AuthMe page, not the popup
        page = Site(paired, paired.gui_origin).get("/action/sign-in")
        assert "puter-config" not in page.text


def test_bad_gui_hosts_are_refused() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Sandbox(gui_host="puter.com")
    with pytest.raises(ValueError, match="differ"):
        Sandbox(gui_host="puter.localhost", api_host="puter.localhost")
    assert Sandbox(gui_host="gui.localhost", api_host="api.other.localhost").api_host == "api.other.localhost"


# -- sessions, guests and app tokens ------------------------------------------------------------------


def test_login_then_app_token_calls_the_drivers_and_whoami(sb: Sandbox) -> None:
    bad = site(sb).post("/login", {"username": "learner", "password": "wrong"})
    assert bad.status_code == 400 and "password" in bad.json()["message"]
    session = login(sb)
    me = api(sb).get("/whoami", token=session).json()
    assert (me["username"], me["is_temp"], me["is_user_token"]) == ("learner", False, True)
    token = app_token(sb, session)["token"]
    reply = api(sb).post("/drivers/call", CHAT, token=token)
    assert reply.status_code == 200 and reply.json()["success"] is True
    # puter.js's own form: the token in the body, text/plain;actually=json
    body = json.dumps({**CHAT, "auth_token": token})
    reply = api(sb).request(
        "POST", "/drivers/call", data=body, headers={"Content-Type": "text/plain;actually=json"}
    )
    assert reply.status_code == 200
    who = api(sb).get("/whoami", token=token).json()
    assert who["app_name"] == "app-2eed5947-eadd-5a16-9ee1-a90baebf41cb"
    assert (who["username"], who["is_temp"], who["oidc_only"]) == ("learner", False, False)
    for hidden in ("email", "is_user_token", "directories", "metadata"):
        assert hidden not in who


def test_a_guest_account_is_temporary(sb: Sandbox) -> None:
    reply = site(sb).post("/signup", {"is_temp": True, "referrer": NOTEBOOK + "/"})
    assert reply.status_code == 200
    session, user = reply.json()["token"], reply.json()["user"]
    assert user["is_temp"] is True and user["username"] != "learner"
    account = gui_of(sb).accounts[user["username"]]
    assert (account.password, account.email) == (None, None)
    token = app_token(sb, session)["token"]
    who = api(sb).get("/whoami", token=token).json()
    assert (who["username"], who["is_temp"], who["oidc_only"]) == (user["username"], True, True)
    assert who["app_name"] == app_uid_for_origin(NOTEBOOK)
    assert api(sb).post("/drivers/call", CHAT, token=token).status_code == 200


def test_signup_makes_an_account_that_can_log_in(sb: Sandbox) -> None:
    name = "signup-" + uuid.uuid4().hex[:6]
    assert site(sb).post("/signup", {"username": name, "password": "x"}).status_code == 400
    made = site(sb).post("/signup", {"username": name, "email": "a@b.c", "password": "secret-pw"})
    assert made.status_code == 200 and made.json()["user"]["is_temp"] is False
    assert site(sb).post("/signup", {"username": name, "password": "secret-pw"}).status_code == 400
    assert api(sb).get("/whoami", token=login(sb, name, "secret-pw")).json()["email"] == "a@b.c"


def test_one_session_per_user_and_app_and_revoking_it(sb: Sandbox) -> None:
    gui = gui_of(sb)
    session = login(sb)
    first, second = app_token(sb, session)["token"], app_token(sb, session)["token"]
    other = app_token(sb, session, "http://127.0.0.1:9999")["token"]
    assert first != second and claims(first)["session_uid"] == claims(second)["session_uid"]
    assert claims(other)["session_uid"] != claims(first)["session_uid"]
    gui.revoke_app(NOTEBOOK)
    for dead in (first, second):
        reply = api(sb).post("/drivers/call", CHAT, token=dead)
        assert reply.status_code == 401 and reply.json()["code"] == "reauth_required"
        assert api(sb).get("/whoami", token=dead).status_code == 401
    assert api(sb).post("/drivers/call", CHAT, token=other).status_code == 200
    # a new sign-in for the origin gets a new session; revoke_token kills one token
    fresh = app_token(sb, session)["token"]
    assert claims(fresh)["session_uid"] != claims(first)["session_uid"]
    sb.revoke_token(fresh)
    assert api(sb).get("/whoami", token=fresh).status_code == 401


def test_sign_out_ends_gui_sessions_but_not_app_tokens(sb: Sandbox) -> None:
    gui = gui_of(sb)
    session = login(sb)
    token = app_token(sb, session)["token"]
    assert gui.signed_in
    gui.sign_out()
    assert not gui.signed_in
    assert api(sb).get("/whoami", token=session).status_code == 401
    assert api(sb).get("/whoami", token=token).status_code == 200


def test_only_a_gui_session_may_mint(sb: Sandbox) -> None:
    session = login(sb)
    token = app_token(sb, session)["token"]
    assert api(sb).post("/auth/get-user-app-token", {"origin": NOTEBOOK}).status_code == 401
    for not_a_session in (token, sb.token):
        reply = api(sb).post("/auth/get-user-app-token", {"origin": NOTEBOOK}, token=not_a_session)
        assert (reply.status_code, reply.json()["code"]) == (403, "forbidden")
    for bad in ("vscode-webview://abc", "null", 42):
        reply = api(sb).post("/auth/get-user-app-token", {"origin": bad}, token=session)
        assert reply.status_code == 400
        assert reply.json() == {
            "error": "Invalid origin URL",
            "message": "Invalid origin URL",
            "code": "bad_request",
        }


def test_the_copyauth_token_is_a_full_api_token(sb: Sandbox) -> None:
    session = login(sb)
    reply = api(sb).post("/auth/create-access-token", {"permissions": ["full-api-access"]}, token=session)
    access = reply.json()["token"]
    assert claims(access)["type"] == "access-token"
    assert api(sb).post("/drivers/call", CHAT, token=access).status_code == 200
    assert api(sb).get("/whoami", token=access).json()["username"] == "learner"


def test_cors_for_browsers_on_the_api(sb: Sandbox) -> None:
    pre = api(sb).request(
        "OPTIONS",
        "/drivers/call",
        headers={
            "Origin": NOTEBOOK,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == NOTEBOOK
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    reply = api(sb).post("/whoami", token=sb.token, headers={"Origin": sb.gui_origin})
    assert reply.headers["Access-Control-Allow-Origin"] == sb.gui_origin
    assert "Access-Control-Allow-Origin" not in api(sb).get("/whoami", token=sb.token).headers


# -- switches ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        ("bad_request", 400),
        ("app_blocked", 403),
        ("email_confirmation_required", 403),
        ("too_many_requests", 429),
    ],
)
def test_exchange_failures(sb: Sandbox, failure: str, status: int) -> None:
    session = login(sb)
    gui_of(sb).exchange_failure = failure
    reply = api(sb).post("/auth/get-user-app-token", {"origin": NOTEBOOK}, token=session)
    assert (reply.status_code, reply.json()["code"]) == (status, failure)
    gui_of(sb).exchange_failure = None
    assert app_token(sb, session)["token"]


def test_temp_users_refused_and_signup_blocked(sb: Sandbox) -> None:
    gui = gui_of(sb)
    gui.temp_users = "refused"
    reply = site(sb).post("/signup", {"is_temp": True})
    assert (reply.status_code, reply.json()["code"]) == (403, "must_login_or_signup")
    gui.temp_users = "allowed"
    gui.signup_blocked = True
    for body in ({"is_temp": True}, {"username": "blocked-one", "password": "secret-pw"}):
        reply = site(sb).post("/signup", body)
        assert (reply.status_code, reply.json()["code"]) == (403, "signup_blocked")
        assert "Request Code" in reply.json()["message"]
    assert "blocked-one" not in gui.accounts


def test_switches_reach_the_page(sb: Sandbox) -> None:
    gui = gui_of(sb)
    gui.post_twice, gui.boot_delay, gui.temp_user_delay, gui.ignore_referrer = True, 1.5, 0.25, True
    page = site(sb).get("/action/sign-in", params={"embedded_in_popup": "true", "msg_id": "1"}).text
    config = json.loads(page.split('id="puter-config" type="application/json">')[1].split("</script>")[0])
    assert config["api_origin"] == sb.origin
    assert (
        config["post_twice"],
        config["boot_delay"],
        config["temp_user_delay"],
        config["ignore_referrer"],
    ) == (True, 1.5, 0.25, True)


def test_command_line_with_the_gui_prints_both_origins() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "puter_magic.sandbox", "--gui"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = dict(line.strip().split("=", 1) for line in [proc.stdout.readline() for _ in range(4)][1:])
        assert lines["PUTER_API_ORIGIN"].startswith("http://api.puter.localhost:")
        assert lines["PUTER_GUI_ORIGIN"] == lines["PUTER_API_ORIGIN"].replace("api.", "", 1)
        assert "sandbox-password" in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(10)


# -- the relay for cross-origin-isolated openers ------------------------------------------------------


def wait_in_background(sb: Sandbox, session: str, origin: str | None) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    headers = {"Origin": origin} if origin else {}
    thread = threading.Thread(
        target=lambda: out.append(api(sb).post("/login/wait", {"session": session}, headers=headers))
    )
    thread.start()
    return thread, out


def waiting(sb: Sandbox, session: str) -> None:
    """Until the sandbox holds a /login/wait on *session*."""
    deadline = time.monotonic() + 5
    while not gui_of(sb)._relay_waiters.get(session):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_relay_hands_the_token_to_the_waiting_page(sb: Sandbox) -> None:
    token = app_token(sb, login(sb), NOTEBOOK)["token"]
    session = str(uuid.uuid4())
    thread, out = wait_in_background(sb, session, NOTEBOOK)
    waiting(sb, session)
    assert api(sb).post("/login/set", {"session": session, "auth_token": token}).json() == {"success": True}
    thread.join(5)
    assert (out[0].status_code, out[0].json()) == (200, {"auth_token": token})
    assert out[0].headers["Access-Control-Allow-Origin"] == NOTEBOOK


def test_relay_refusals(sb: Sandbox) -> None:
    gui_of(sb).relay_hold = 0.3
    session = str(uuid.uuid4())
    assert api(sb).post("/login/wait", {"session": session}).status_code == 403  # no Origin: not a browser
    assert api(sb).post("/login/wait", {"session": session}, headers={"Origin": "null"}).status_code == 403
    assert api(sb).post("/login/wait", {"session": "nope"}, headers={"Origin": NOTEBOOK}).status_code == 400
    assert api(sb).post("/login/set", {"session": "nope", "auth_token": "t"}).status_code == 400
    # a token set while nobody waits is lost, as Puter's is
    token = app_token(sb, login(sb), NOTEBOOK)["token"]
    api(sb).post("/login/set", {"session": session, "auth_token": token})
    late = api(sb).post("/login/wait", {"session": session}, headers={"Origin": NOTEBOOK})
    assert (late.status_code, late.json()["code"]) == (408, "timeout")
    # a token minted for another origin's app is not handed over: it looks like a timeout
    gui_of(sb).relay_hold = 5
    other = app_token(sb, login(sb), "http://127.0.0.1:9999")["token"]
    thread, out = wait_in_background(sb, session, NOTEBOOK)
    waiting(sb, session)
    api(sb).post("/login/set", {"session": session, "auth_token": other})
    thread.join(5)
    assert out[0].status_code == 408


def test_relay_buffered_keeps_the_token_until_a_wait(sb: Sandbox) -> None:
    gui_of(sb).relay_buffered = True
    token = app_token(sb, login(sb), NOTEBOOK)["token"]
    session = str(uuid.uuid4())
    api(sb).post("/login/set", {"session": session, "auth_token": token})
    reply = api(sb).post("/login/wait", {"session": session}, headers={"Origin": NOTEBOOK})
    assert reply.json() == {"auth_token": token}


def test_relay_rate_limits() -> None:
    with Sandbox(gui_host="puter.localhost") as fresh:
        gui_of(fresh).relay_hold = 0
        statuses = [
            api(fresh)
            .post("/login/wait", {"session": str(uuid.uuid4())}, headers={"Origin": NOTEBOOK})
            .status_code
            for _ in range(101)
        ]
        assert statuses[:100] == [408] * 100 and statuses[100] == 429


def test_a_guest_has_puters_temp_limits(sb: Sandbox) -> None:
    guest = app_token(sb, site(sb).post("/signup", {"is_temp": True}).json()["token"])["token"]
    statuses = [api(sb).post("/drivers/call", CHAT, token=guest).status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20  # (twenty calls take far less than the 10 s window)
    assert statuses[20] == 429
    refused = api(sb).post("/drivers/call", CHAT, token=guest).json()
    assert (refused["code"], refused["message"]) == ("too_many_requests", "Too many requests.")
    # an account's own token, and another guest, are not held back by it
    learner = app_token(sb, login(sb))["token"]
    assert all(api(sb).post("/drivers/call", CHAT, token=learner).status_code == 200 for _ in range(21))
    other = app_token(sb, site(sb).post("/signup", {"is_temp": True}).json()["token"])["token"]
    assert api(sb).post("/drivers/call", CHAT, token=other).status_code == 200


def test_popup_tokens_spend_their_accounts_allowance(sb: Sandbox) -> None:
    guest = app_token(sb, site(sb).post("/signup", {"is_temp": True}).json()["token"])["token"]
    learner = app_token(sb, login(sb))["token"]
    priced = {**CHAT, "args": {**CHAT["args"], "model": "sandbox-tutor"}}  # `fake` costs nothing
    assert api(sb).post("/drivers/call", priced, token=guest).status_code == 200
    usage = api(sb).get("/metering/usage", token=guest).json()
    assert usage["allowanceInfo"]["monthUsageAllowance"] == 25_000_000  # a guest's $0.25
    app = app_uid_for_origin(NOTEBOOK)
    assert usage["usage"]["total"] > 0 and usage["appTotals"][app]["count"] == 1
    assert api(sb).get("/metering/usage", token=learner).json()["allowanceInfo"]["monthUsageAllowance"] == (
        50_000_000
    )
    sb.metering.set_allowance(guest, 0)
    refused = api(sb).post("/drivers/call", CHAT, token=guest)
    assert (refused.status_code, refused.json()["code"]) == (402, "insufficient_funds")
    assert api(sb).post("/drivers/call", CHAT, token=learner).status_code == 200
