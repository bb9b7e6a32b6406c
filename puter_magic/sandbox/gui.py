"""The sandbox as Puter's GUI: the sign-in popup, guest accounts, GUI sessions, app tokens and
the AuthMe page.

``Sandbox(gui_host="puter.localhost")`` serves two origins on one loopback port, told apart
by the Host header (Chromium resolves every ``*.localhost`` name to loopback):

- ``sandbox.gui_origin``, ``http://puter.localhost:PORT``: the pages of Puter's GUI site;
- ``sandbox.origin``, ``http://api.puter.localhost:PORT``: the API (``api_host`` defaults to
  ``"api." + gui_host``, as Puter pairs them).

Without ``gui_host`` the sandbox is exactly what it was (``%puter_login --sandbox``): one
origin, whose GUI is only the AuthMe page, Puter's ``/?action=authme&redirectURL=...``
sign-in. Real Puter shows the signed-in user a page asking to let a program sign in, then
sends the browser to ``redirectURL?token=<token>``; the sandbox does the same with an "Allow"
button (or at once, with ``authme_auto_approve``), and only for loopback redirect URLs
(:func:`is_loopback_host`: the sandbox listens, and hands its token, nowhere else).

The GUI origin answers what puter.js's ``puter.auth.signIn()`` opens, and behaves as Puter
does (../shared/puter-signin.md):

- ``/action/sign-in?embedded_in_popup=true&msg_id=N[&attempt_temp_user_creation=true]``
  (also ``/?embedded_in_popup=true`` and ``?action=sign-in``): the popup. It takes the opener's
  origin from ``document.referrer``, else asks the opener (``{msg: "requestOrigin"}``, taking
  the ``event.origin`` of the first ``{msg: "originResponse"}``, 5 s); with neither it shows
  "No referrer found", posts nothing and stays open. Signed in already, it shows an account
  picker that needs a click (dismissing it posts ``success: false``). Signed out, on the
  browser's first visit (no ``has_visited_before`` in the GUI origin's localStorage) and
  with ``attempt_temp_user_creation``, it creates a guest (temporary) account after a
  2 s spinner; otherwise it shows the signup form (no close button) with a link to the
  login form. Then it calls ``POST <API>/auth/get-user-app-token {origin}`` with its GUI
  session token, posts ``{msg: "puter.token", success, token, app_uid, username, msg_id}``
  to ``window.opener`` for the opener's origin, and closes itself.
- ``/?action=copyauth``: Puter's token page, showing a full-API access token to copy.
- ``/?action=authme``: the AuthMe page, as on the plain sandbox.
- ``POST /login``, ``POST /signup`` (the GUI's own calls), with ``X-Frame-Options:
  SAMEORIGIN`` on every page and no COOP.

The API origin adds ``POST /auth/get-user-app-token`` (``app_uid`` = ``"app-" +
uuid5(NAMESPACE, scheme://host[:port])``, one revocable session per user and app),
``POST /auth/create-access-token``, ``GET /whoami`` for every token kind (app tokens answer
``is_temp`` and ``app_name``, no email), and CORS for browsers (any Origin reflected,
preflights answered). Every token spends its account's allowance in ``/metering/usage``
(:mod:`.metering`: a guest has $0.25, an app token's spending is shown under its app), and
``sandbox.metering.set_allowance(token, 0)`` makes it run out (402). A guest's AI calls also
have Puter's ``temp_free`` limits: 20 per 10 s and 2 at once per interface and method (429
``too_many_requests``).

Accounts: ``sandbox.gui.accounts`` holds the GUI's users; the sandbox's own user
(``username``, default ``learner``) logs in with password ``sandbox.gui.password``
(``"sandbox-password"``). ``sandbox.gui.signed_in`` tells whether any GUI session is alive,
``sandbox.gui.sign_out()`` ends them all (the next popup finds itself signed out),
``sandbox.gui.revoke_app(origin)`` kills every token minted for that origin, and
``sandbox.gui.popups`` records what each popup did (how it found its opener, what it showed,
what it posted: never a token).

Switches, plain attributes of ``sandbox.gui`` a test flips on the running sandbox (a page
reads them when it loads):

==========================  ==================================================================
``temp_users``              ``"allowed"`` (default) or ``"refused"``: ``/signup {is_temp}``
                            answers 403 ``must_login_or_signup`` and the popup shows the
                            signup form instead of making a guest
``signup_blocked``          every ``/signup`` answers 403 (Puter's abuse check, "Request
                            Code"); the popup shows a blocking overlay and posts nothing
``exchange_failure``        None, or how ``/auth/get-user-app-token`` fails: ``"bad_request"``
                            (400), ``"app_blocked"`` or ``"email_confirmation_required"``
                            (403), ``"too_many_requests"`` (429); the popup posts
                            ``success: false`` and closes
``post_twice``              the popup posts its success message twice (settle-once tests)
``boot_delay``              seconds the popup spends booting before anything (a slow popup)
``temp_user_delay``         seconds of the guest-account spinner (default 2.0, as Puter)
``ignore_referrer``         the popup acts as if ``document.referrer`` were empty, as under
                            ``Referrer-Policy: no-referrer``: it needs the handshake
``relay_buffered``          ``/login/set`` keeps a token until a ``/login/wait`` takes it
                            (Puter's drops it when nobody waits at that instant)
``relay_hold``              seconds a ``/login/wait`` is held before its 408 (default 10)
==========================  ==================================================================

``sandbox.gui.reset_switches()`` puts them all back.

The relay for cross-origin-isolated openers is played too: with
``&cross_origin_isolated=true&signin_session=<uuid>`` the popup posts nothing and calls
``POST <API>/login/set {auth_token, session}``, which hands the token to a ``POST
<API>/login/wait {session}`` held at that instant (a browser Origin needed; the token only if
it was minted for that Origin's app; 408 after 10 s; 100 waits and 60 sets per 15 minutes).
As in Puter, a guest made in that popup is delivered by postMessage only, so an isolated
opener never gets it.

Not played: Turnstile, email confirmation after signup, ``/auth/check-app``, OIDC.
"""

from __future__ import annotations

import base64
import html
import ipaddress
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

from .limits import TIERS, Limits

if TYPE_CHECKING:
    from .metering import Metering

__all__ = [
    "APP_UID_NAMESPACE",
    "GUI",
    "GuiAccount",
    "GuiHost",
    "Popup",
    "answer_gui",
    "app_uid_for_origin",
    "authme_reply",
    "is_loopback_host",
    "normalize_origin",
]

APP_UID_NAMESPACE = uuid.UUID("33de3768-8ee0-43e9-9e73-db192b97a5d8")
DEFAULT_PASSWORD = "sandbox-password"
EXCHANGE_FAILURES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "Invalid origin URL"),
    "app_blocked": (403, "This app is blocked"),
    "email_confirmation_required": (403, "Email confirmation required"),
    "too_many_requests": (429, "Too many requests"),
}
RELAY_LIMITS = {"wait": 100, "set": 60}  # per 15 minutes, as Puter's
_ADJECTIVES = ("quiet", "brave", "sunny", "swift", "gentle", "clever", "bright", "calm")
_ANIMALS = ("fox", "otter", "heron", "lynx", "panda", "wren", "badger", "koala")

TokenKind = Literal["session", "app", "access"]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost``, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) origin or URL (a referrer's trailing slash and path
    dropped, a default port too); None for anything else (``vscode-webview:``, ``null``)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def app_uid_for_origin(origin: str) -> str | None:
    """The uid Puter gives the app of a web origin with no registered app (None: not http(s))."""
    normalized = normalize_origin(origin)
    return None if normalized is None else f"app-{uuid.uuid5(APP_UID_NAMESPACE, normalized)}"


class GuiHost(Protocol):
    """What the GUI site needs of the sandbox it plays for: the sandbox's own user and token,
    its accounts' metering, the API origin its pages call, and the stop signal."""

    username: str
    token: str
    authme_auto_approve: bool
    metering: Metering
    stopping: threading.Event

    @property
    def origin(self) -> str: ...


@dataclass
class GuiAccount:
    """A user of the GUI site (a guest has no password and no email)."""

    username: str
    password: str | None
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    email: str | None = None
    is_temp: bool = False
    email_confirmed: bool = True

    def public(self) -> dict[str, Any]:
        """What the GUI's own calls return about the user (never the password)."""
        return {
            "username": self.username,
            "uuid": self.uuid,
            "is_temp": self.is_temp,
            "email_confirmed": self.email_confirmed,
        }


@dataclass(frozen=True)
class _Grant:
    """What a token the GUI minted stands for."""

    kind: TokenKind
    username: str
    session_uid: str
    app_uid: str | None = None


@dataclass
class Popup:
    """One load of the GUI's popup page, as the page reported it (never a token)."""

    load_id: str
    path: str
    msg_id: str | None
    attempt_temp_user_creation: bool
    embedded: bool
    events: list[str] = field(default_factory=list)
    opener_origin: str | None = None
    origin_via: str | None = None  # "referrer" or "handshake"
    posted: list[bool] = field(default_factory=list)  # the `success` of each puter.token posted


class GUI:
    """The GUI site's state (accounts, sessions, tokens) and its switches (see the module doc)."""

    def __init__(self, sandbox: GuiHost, host: str) -> None:
        self.sandbox = sandbox
        self.host = host
        self.password = DEFAULT_PASSWORD
        self.accounts: dict[str, GuiAccount] = {}
        self._lock = threading.Lock()
        self.add_account(sandbox.username, self.password, uid="00000000-0000-4000-8000-000000000001")
        self.reset_switches()
        # records
        self.popups: list[Popup] = []
        self._tokens: dict[str, _Grant] = {}
        self._app_sessions: dict[tuple[str, str], str] = {}  # (username, app_uid) -> session uid
        self._guest_limits: dict[str, Limits] = {}
        self._relay = threading.Condition()
        self._relayed: dict[str, list[str]] = {}  # signin session -> tokens set, in order
        self._relay_waiters: dict[str, int] = {}
        self._relay_calls: dict[str, deque[float]] = {"wait": deque(), "set": deque()}

    def reset_switches(self) -> None:
        """Every switch back to its default (Puter's behaviour)."""
        self.temp_users: Literal["allowed", "refused"] = "allowed"
        self.signup_blocked = False
        self.exchange_failure: str | None = None
        self.post_twice = False
        self.boot_delay = 0.0
        self.temp_user_delay = 2.0
        self.ignore_referrer = False
        self.relay_buffered = False
        self.relay_hold = 10.0

    # -- accounts and sessions ---------------------------------------------------------

    def add_account(
        self, username: str, password: str | None, *, uid: str | None = None, email: str | None = None
    ) -> GuiAccount:
        """A user that can log in on the GUI's login form."""
        account = GuiAccount(username, password, email=email)
        if uid:
            account.uuid = uid
        with self._lock:
            self.accounts[username] = account
        return account

    def _mint(self, grant: _Grant, claims: dict[str, Any]) -> str:
        """A JWT-shaped token (its claims readable, its "signature" random) the GUI will know."""

        def part(obj: Any) -> str:
            text = json.dumps(obj, separators=(",", ":"))
            return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

        token = ".".join((part({"alg": "HS256", "typ": "JWT"}), part(claims), secrets.token_urlsafe(32)))
        with self._lock:
            self._tokens[token] = grant
            guest = self.accounts[grant.username].is_temp
        # the token spends its account's allowance (a guest's is smaller), an app's under its app
        self.sandbox.metering.add(token, grant.username, guest=guest, app_uid=grant.app_uid)
        return token

    def start_session(self, account: GuiAccount) -> str:
        """A GUI session token for *account* (what the GUI keeps in its localStorage)."""
        session_uid = str(uuid.uuid4())
        grant = _Grant("session", account.username, session_uid)
        return self._mint(
            grant, {"type": "session", "version": "0.0.0", "uuid": session_uid, "user_uid": account.uuid}
        )

    @property
    def signed_in(self) -> bool:
        """Whether any GUI session is alive (a browser that holds one shows the account picker)."""
        with self._lock:
            return any(g.kind == "session" for g in self._tokens.values())

    def sign_out(self) -> None:
        """End every GUI session: the next popup finds itself signed out. App tokens stay."""
        with self._lock:
            for token in [t for t, g in self._tokens.items() if g.kind == "session"]:
                del self._tokens[token]

    def revoke_app(self, origin: str, username: str | None = None) -> None:
        """Revoke the app session(s) of *origin* (one user's, or everyone's): its tokens stop working."""
        app_uid = app_uid_for_origin(origin) or origin
        with self._lock:
            for token, grant in list(self._tokens.items()):
                if grant.app_uid == app_uid and username in (None, grant.username):
                    del self._tokens[token]
            for key in [k for k in self._app_sessions if k[1] == app_uid and username in (None, k[0])]:
                del self._app_sessions[key]

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def grant(self, token: str) -> _Grant | None:
        with self._lock:
            grant = self._tokens.get(token)
            if grant is not None and grant.username not in self.accounts:
                return None
            return grant

    def accepts(self, token: str) -> bool:
        return self.grant(token) is not None

    def guest_limits(self, token: str) -> Limits | None:
        """The AI limits of a guest's token (Puter's ``temp_free``: 20 calls per 10 s and 2 at
        once, per interface and method); None for anyone else's."""
        grant = self.grant(token)
        if grant is None or not self.accounts[grant.username].is_temp:
            return None
        with self._lock:
            if grant.username not in self._guest_limits:
                self._guest_limits[grant.username] = Limits(*TIERS["temp"])
            return self._guest_limits[grant.username]

    # -- what the API answers ---------------------------------------------------------

    def whoami(self, token: str) -> dict[str, Any] | None:
        """``GET /whoami`` for a token the GUI minted (None: not one of its tokens)."""
        grant = self.grant(token)
        if grant is None:
            return None
        account = self.accounts[grant.username]
        flags = {
            "requires_email_confirmation": False,
            "requires_phone_verification": False,
            "requires_card_verification": False,
        }
        if grant.kind == "app":  # what Puter leaves for an app actor: no email, no directories
            return {
                "username": account.username,
                "uuid": account.uuid,
                "email_confirmed": account.email_confirmed,
                **flags,
                "is_temp": account.is_temp,
                "oidc_only": account.is_temp,
                "otp": False,
                "feature_flags": {},
                "hasDevAccountAccess": False,
                "last_activity_ts": int(time.time()),
                "app_name": grant.app_uid,
            }
        return {
            "username": account.username,
            "uuid": account.uuid,
            "email": account.email,
            "email_confirmed": account.email_confirmed,
            **flags,
            "is_temp": account.is_temp,
            "is_user_token": grant.kind == "session",
            "feature_flags": {},
            "metadata": {},
            "sandbox": True,
        }

    def exchange(self, token: str, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /auth/get-user-app-token``: a GUI session's token for the app of ``origin``."""
        grant = self.grant(token)
        if grant is None or grant.kind != "session":
            return _error(403, "Forbidden", "forbidden")  # only a user session may mint
        body = body if isinstance(body, dict) else {}
        if isinstance(body.get("app_uid"), str) and body.get("origin") is None:
            app_uid: str | None = body["app_uid"]
        else:
            app_uid = app_uid_for_origin(body["origin"]) if isinstance(body.get("origin"), str) else None
        if app_uid is None:
            return _error(400, "Invalid origin URL", "bad_request")
        if self.exchange_failure is not None:
            status, message = EXCHANGE_FAILURES[self.exchange_failure]
            return _error(status, message, self.exchange_failure)
        account = self.accounts[grant.username]
        with self._lock:
            session_uid = self._app_sessions.setdefault((account.username, app_uid), str(uuid.uuid4()))
        claims = {
            "type": "app-under-user",
            "version": "2",
            "user_uid": account.uuid,
            "app_uid": app_uid,
            "session_uid": session_uid,
            "auth_id": str(uuid.uuid4()),
        }
        app_token = self._mint(_Grant("app", account.username, session_uid, app_uid), claims)
        return 200, {"token": app_token, "app_uid": app_uid}

    def create_access_token(self, token: str, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /auth/create-access-token``: the full-API token Puter's copyauth page shows."""
        grant = self.grant(token)
        if grant is None or grant.kind != "session":
            return _error(403, "Forbidden", "forbidden")
        token_uid = str(uuid.uuid4())
        account = self.accounts[grant.username]
        access = self._mint(
            _Grant("access", account.username, token_uid),
            {"type": "access-token", "token_uid": token_uid, "user_uid": account.uuid},
        )
        return 200, {"token": access}

    # -- what the GUI origin's own routes answer ----------------------------------------

    def login(self, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /login {username, password}`` on the GUI origin."""
        body = body if isinstance(body, dict) else {}
        account = self.accounts.get(str(body.get("username") or ""))
        if account is None or account.password is None or account.password != body.get("password"):
            return _error(400, "Incorrect username or password.", "invalid_credentials")
        return 200, {
            "proceed": True,
            "next_step": "complete",
            "token": self.start_session(account),
            "user": account.public(),
        }

    def signup(self, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /signup`` on the GUI origin: a guest with ``is_temp``, else a full account."""
        body = body if isinstance(body, dict) else {}
        if self.signup_blocked:
            return _error(403, "Signup blocked. Request Code: sandbox-1", "signup_blocked")
        if body.get("is_temp"):
            if self.temp_users != "allowed":
                return _error(403, "You must log in or sign up.", "must_login_or_signup")
            with self._lock:
                while True:
                    name = (
                        f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_ANIMALS)}_"
                        f"{secrets.randbelow(9000) + 1000}"
                    )
                    if name not in self.accounts:
                        break
            account = self.add_account(name, None)
            account.is_temp = True
            account.email_confirmed = False
        else:
            username = str(body.get("username") or "").strip()
            password = body.get("password")
            if not username or not isinstance(password, str) or len(password) < 6:
                return _error(
                    400, "A username and a password of 6 or more characters are needed.", "bad_request"
                )
            if username in self.accounts:
                return _error(400, "This username is already taken.", "username_taken")
            email = body.get("email") if isinstance(body.get("email"), str) else None
            account = self.add_account(username, password, email=email)
        return 200, {
            "proceed": True,
            "next_step": "complete",
            "token": self.start_session(account),
            "user": account.public(),
        }

    # -- the relay for cross-origin-isolated openers ---------------------------------------

    def _rate_limited(self, route: Literal["wait", "set"]) -> bool:
        """Puter's limits on the relay: 100 waits and 60 sets per 15 minutes (one IP: loopback)."""
        limit = RELAY_LIMITS[route]
        calls, now = self._relay_calls[route], time.monotonic()
        with self._lock:
            while calls and calls[0] < now - 900:
                calls.popleft()
            if len(calls) >= limit:
                return True
            calls.append(now)
            return False

    def relay_set(self, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /login/set {session, auth_token}``: hand a token to whoever waits on that session
        now. Like Puter it stores nothing: a token set while nobody waits is lost (unless
        ``relay_buffered``)."""
        if self._rate_limited("set"):
            return _error(429, "Too many requests", "too_many_requests")
        body = body if isinstance(body, dict) else {}
        session, token = body.get("session"), body.get("auth_token")
        if not _is_uuid(session) or not isinstance(token, str) or not token:
            return _error(400, "A session (UUID) and an auth_token are needed", "bad_request")
        assert isinstance(session, str)
        with self._relay:
            if self._relay_waiters.get(session) or self.relay_buffered:
                self._relayed.setdefault(session, []).append(token)
                self._relay.notify_all()
        return 200, {"success": True}

    def relay_wait(self, body: Any, origin: str | None) -> tuple[int, dict[str, Any]]:
        """``POST /login/wait {session}``: hold up to ``relay_hold`` seconds for a token set on the
        session, answered only if it is an app token for the app of the request's Origin."""
        if self._rate_limited("wait"):
            return _error(429, "Too many requests", "too_many_requests")
        body = body if isinstance(body, dict) else {}
        session = body.get("session")
        if not _is_uuid(session):
            return _error(400, "A session (UUID) is needed", "bad_request")
        assert isinstance(session, str)
        if not origin or origin == "null":
            return _error(403, "A browser Origin is needed", "forbidden")
        expected = app_uid_for_origin(origin)
        deadline = time.monotonic() + self.relay_hold
        with self._relay:
            seen = len(self._relayed.get(session, [])) if not self.relay_buffered else 0
            self._relay_waiters[session] = self._relay_waiters.get(session, 0) + 1
            try:
                while len(self._relayed.get(session, [])) <= seen:
                    left = deadline - time.monotonic()
                    if left <= 0 or self.sandbox.stopping.is_set():
                        return _error(408, "Timed out waiting for sign-in", "timeout")
                    self._relay.wait(min(left, 0.25))
                token = self._relayed[session][seen]
                if self.relay_buffered:
                    self._relayed[session].pop(seen)
            finally:
                self._relay_waiters[session] -= 1
                if not self._relay_waiters[session]:
                    del self._relay_waiters[session]
                    if not self.relay_buffered:
                        self._relayed.pop(session, None)
        grant = self.grant(token)
        if grant is None or grant.kind != "app" or grant.app_uid != expected:
            return _error(408, "Timed out waiting for sign-in", "timeout")  # a mismatch looks the same
        return 200, {"auth_token": token}

    def page(self, path: str, query: dict[str, list[str]]) -> bytes:
        """The GUI's page (popup, token page or desktop), its switches baked in."""

        def flag(name: str) -> bool:
            return (query.get(name) or [""])[0] in ("true", "1")

        popup = Popup(
            load_id=secrets.token_urlsafe(9),
            path=path,
            msg_id=query["msg_id"][0] if query.get("msg_id") else None,
            attempt_temp_user_creation=flag("attempt_temp_user_creation"),
            embedded=flag("embedded_in_popup"),
        )
        with self._lock:
            self.popups.append(popup)
        config = {
            "load": popup.load_id,
            "api_origin": self.sandbox.origin,
            "hint": f"Puter sandbox: log in as {self.sandbox.username} / {self.password}",
            "post_twice": self.post_twice,
            "boot_delay": self.boot_delay,
            "temp_user_delay": self.temp_user_delay,
            "ignore_referrer": self.ignore_referrer,
        }
        # `</script>` cannot end the JSON early: every `<` is escaped
        data = json.dumps(config).replace("<", "\\u003c")
        return PAGE.replace("__CONFIG__", data).encode()

    def note(self, body: Any) -> None:
        """What a page reports about itself (``POST /_sandbox/popup-event``)."""
        if not isinstance(body, dict):
            return
        with self._lock:
            popup = next((p for p in self.popups if p.load_id == body.get("load")), None)
            if popup is None:
                return
            event = str(body.get("event") or "")[:40]
            found = body.get("detail")
            detail: dict[str, Any] = found if isinstance(found, dict) else {}
            popup.events.append(event)
            if event == "origin":
                popup.opener_origin = str(detail.get("origin"))[:200]
                popup.origin_via = str(detail.get("via"))[:20]
            elif event == "posted":
                popup.posted.append(detail.get("success") is True)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _error(status: int, message: str, code: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": message, "message": message, "code": code}


class GuiAnswerer(Protocol):
    """What the GUI's routes need of the request handler."""

    command: str

    def send(
        self, status: int, body: bytes, content_type: str | None = ..., headers: dict[str, str] | None = ...
    ) -> None: ...
    def json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None: ...


PAGE_HEADERS = {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store"}


def answer_gui(h: GuiAnswerer, gui: GUI, path: str, query_string: str, raw: bytes) -> None:
    """Answer a request to the GUI origin."""
    query = parse_qs(query_string)
    action = (query.get("action") or [""])[0]
    if h.command == "POST" and path in ("/login", "/signup", "/_sandbox/popup-event"):
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            h.json(400, _error(400, "Malformed JSON in request body", "client_bad_json")[1])
            return
        if path == "/_sandbox/popup-event":
            gui.note(body)
            h.json(200, {"ok": True})
            return
        status, obj = gui.login(body) if path == "/login" else gui.signup(body)
        h.json(status, obj)
    elif h.command in ("GET", "HEAD") and action in ("authme", "authme-approve") and path == "/":
        status, headers, page = authme_reply(gui.sandbox, query)
        h.send(status, page, headers.pop("Content-Type", "text/html; charset=utf-8"), headers)
    elif h.command in ("GET", "HEAD") and (path == "/" or path.startswith("/action/")):
        h.send(200, gui.page(path, query), "text/html; charset=utf-8", dict(PAGE_HEADERS))
    else:
        h.json(404, _error(404, "Not Found", "not_found")[1])


# -- the AuthMe page (both origins: the plain sandbox's root, the GUI's ?action=authme) ------------


def _with_token(redirect: str, token: str) -> str:
    parts = urlsplit(redirect)
    query = (parts.query + "&" if parts.query else "") + urlencode({"token": token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def authme_reply(sandbox: GuiHost, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for a GET on the GUI root or the approve action."""
    action = (query.get("action") or [""])[0]
    redirect = (query.get("redirectURL") or [""])[0]
    if action not in ("authme", "authme-approve"):
        page = "<!doctype html><title>Puter sandbox</title><h1>Puter sandbox</h1><p>Nothing here.</p>"
        return 200, {}, page.encode()
    parts = urlsplit(redirect)
    if parts.scheme != "http" or not is_loopback_host(parts.hostname or ""):
        page = "<!doctype html><title>Refused</title><p>redirectURL must be an http:// loopback address.</p>"
        return 400, {}, page.encode()
    if action == "authme-approve" or sandbox.authme_auto_approve:
        return (
            302,
            {"Location": _with_token(redirect, sandbox.token), "Content-Type": "text/plain"},
            b"",
        )
    approve = "/?" + urlencode({"action": "authme-approve", "redirectURL": redirect}, quote_via=quote)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to the Puter sandbox</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>Sign in to the Puter sandbox</h1>
<p>A program on this computer ({html.escape(parts.netloc)}) asks to use the sandbox as
<strong>{html.escape(sandbox.username)}</strong>.</p>
<p><a id="allow" href="{html.escape(approve)}" style="padding: .5em 1em; background: #2563eb;
color: white; text-decoration: none; border-radius: 4px">Allow</a></p>
</body></html>"""
    return 200, {}, page.encode()


# The page: one document for the popup, the token page and the desktop. Its script reads the
# config above, then plays initgui.js's order: find the opener, see who is signed in, get consent
# (picker, guest, forms), exchange, deliver, close.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Puter (sandbox)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #eef2f7; color: #1f2937; }
main { max-width: 26em; margin: 3em auto; background: white; border-radius: 8px;
       padding: 1.5em 2em; box-shadow: 0 2px 12px rgba(0,0,0,.12); position: relative; }
h1 { font-size: 1.3em; margin-top: 0; }
button, input { font: inherit; }
input { display: block; width: 100%; box-sizing: border-box; margin: .3em 0 .8em; padding: .45em; }
.primary, .account { display: block; width: 100%; padding: .6em; margin: .4em 0; border: 0;
                     border-radius: 4px; background: #2563eb; color: white; cursor: pointer; }
.account { background: #f3f4f6; color: #111827; text-align: left; border: 1px solid #d1d5db; }
.link { background: none; border: 0; color: #2563eb; cursor: pointer; padding: 0; }
.close { position: absolute; top: .6em; right: .8em; background: none; border: 0;
         font-size: 1.3em; cursor: pointer; }
.error { color: #b91c1c; min-height: 1.2em; }
.hint { color: #6b7280; font-size: .85em; }
.spinner { width: 2em; height: 2em; border: 3px solid #cbd5e1; border-top-color: #2563eb;
           border-radius: 50%; animation: spin 1s linear infinite; margin: 1em auto; }
@keyframes spin { to { transform: rotate(360deg); } }
#blocked { position: fixed; inset: 0; background: rgba(15,23,42,.85); color: white;
           display: flex; align-items: center; justify-content: center; text-align: center; }
</style></head>
<body><main id="app"><div class="spinner"></div><p id="status">Loading Puter…</p></main>
<script id="puter-config" type="application/json">__CONFIG__</script>
<script>
"use strict";
(() => {
const C = JSON.parse(document.getElementById("puter-config").textContent);
const app = document.getElementById("app");
const params = new URLSearchParams(location.search);
const flag = (name) => ["true", "1"].includes(params.get(name));
const embedded = flag("embedded_in_popup");
const msgId = params.get("msg_id");
const attemptTemp = flag("attempt_temp_user_creation");
const isolated = flag("cross_origin_isolated");  // the opener polls /login/wait instead
const signinSession = params.get("signin_session");
const action = location.pathname.startsWith("/action/")
  ? location.pathname.slice("/action/".length) : (params.get("action") || "");
const firstVisit = !localStorage.getItem("has_visited_before");
localStorage.setItem("has_visited_before", "true");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function note(event, detail) {
  fetch("/_sandbox/popup-event", {method: "POST", keepalive: true,
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({load: C.load, event: event, detail: detail || {}})}).catch(() => {});
}
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}
function show(...nodes) { app.replaceChildren(...nodes); }
function spinner(text) { show(el("div", {class: "spinner"}), el("p", {id: "status"}, text)); }

// -- the GUI session (localStorage, as Puter's GUI keeps it) --------------------------------
function storedUsers() {
  try { return JSON.parse(localStorage.getItem("logged_in_users") || "[]"); } catch (e) { return []; }
}
function remember(user, token) {
  const users = storedUsers().filter((u) => u.username !== user.username);
  users.unshift({username: user.username, uuid: user.uuid, is_temp: user.is_temp, auth_token: token});
  localStorage.setItem("logged_in_users", JSON.stringify(users));
  localStorage.setItem("auth_token", token);
}
async function whoami(token) {
  try {
    const r = await fetch(C.api_origin + "/whoami", {headers: {Authorization: "Bearer " + token}});
    return r.ok ? await r.json() : null;
  } catch (e) { return null; }
}
async function signedInUsers() {
  const users = [];
  for (const u of storedUsers()) {
    const me = await whoami(u.auth_token);
    if (me) users.push({username: me.username, uuid: me.uuid, is_temp: me.is_temp, auth_token: u.auth_token});
  }
  localStorage.setItem("logged_in_users", JSON.stringify(users));
  const current = users.find((u) => u.auth_token === localStorage.getItem("auth_token"));
  if (!current) localStorage.removeItem("auth_token");
  if (current) users.splice(users.indexOf(current), 1), users.unshift(current);
  return users;
}

// -- the opener's origin: the referrer, else the requestOrigin handshake ---------------------
function openerOrigin() {
  if (document.referrer && !C.ignore_referrer) {
    return Promise.resolve({origin: document.referrer, via: "referrer"});
  }
  if (!window.opener) return Promise.reject(new Error("No referrer found"));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      removeEventListener("message", onMessage);
      reject(new Error("No referrer found"));
    }, 5000);
    function onMessage(event) {
      if (event.data && event.data.msg === "originResponse") {
        clearTimeout(timer);
        removeEventListener("message", onMessage);
        resolve({origin: event.origin, via: "handshake"});
      }
    }
    addEventListener("message", onMessage);
    window.opener.postMessage({msg: "requestOrigin"}, "*");
  });
}

// -- consent: the account picker, a guest account, the signup and login forms -----------------
function picker(users) {
  note("picker");
  return new Promise((resolve) => {
    const dismiss = () => { note("dismissed"); resolve(null); };
    show(
      el("button", {class: "close", id: "picker-close", "aria-label": "Close", onclick: dismiss}, "×"),
      el("h1", {}, "Choose an account"),
      el("p", {}, "to continue to the page that opened this window"),
      ...users.map((u) => el("button", {class: "account", "data-username": u.username,
        onclick: () => resolve({token: u.auth_token, user: u})},
        u.username + (u.is_temp ? " (temporary account)" : ""))),
      el("p", {}, el("button", {class: "link", id: "picker-other",
        onclick: async () => resolve(await forms("login"))}, "Use another account")),
      el("button", {class: "link", id: "picker-cancel", onclick: dismiss}, "Cancel"));
  });
}
async function post(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                               body: JSON.stringify(body)});
  let data = {};
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  return {ok: r.ok, status: r.status, data: data};
}
function blocked(message) {
  note("signup_blocked");
  document.body.append(el("div", {id: "blocked"}, el("div", {},
    el("h1", {}, "Sign-up is not possible right now"), el("p", {}, message))));
  return new Promise(() => {});  // nothing is ever posted
}
async function guest(opener) {
  note("temp_user");
  spinner("Creating a temporary account…");
  await sleep(C.temp_user_delay * 1000);
  const r = await post("/signup", {is_temp: true, referrer: opener});
  if (r.ok) return {token: r.data.token, user: r.data.user, guest: true};
  if (r.data.code === "signup_blocked") return blocked(r.data.message);
  note("temp_user_refused");
  return forms("signup");
}
function forms(which) {
  return new Promise((resolve) => {
    function render(kind) {
      note(kind === "login" ? "login_form" : "signup_form");
      const error = el("p", {class: "error", role: "alert"});
      const fields = kind === "login"
        ? [el("label", {}, "Username", el("input", {name: "username", autocomplete: "username"})),
           el("label", {}, "Password", el("input", {name: "password", type: "password"}))]
        : [el("label", {}, "Username", el("input", {name: "username", autocomplete: "username"})),
           el("label", {}, "Email", el("input", {name: "email", type: "email"})),
           el("label", {}, "Password", el("input", {name: "password", type: "password"}))];
      const form = el("form", {id: kind + "-form", onsubmit: async (event) => {
        event.preventDefault();
        const body = Object.fromEntries(new FormData(form).entries());
        const r = await post(kind === "login" ? "/login" : "/signup", body);
        if (r.ok) resolve({token: r.data.token, user: r.data.user});
        else if (r.data.code === "signup_blocked") resolve(await blocked(r.data.message));
        else error.textContent = r.data.message || ("Error " + r.status);
      }}, ...fields, error,
        el("button", {class: "primary", type: "submit"}, kind === "login" ? "Log in" : "Create account"));
      const other = kind === "login"
        ? el("p", {}, "No account? ", el("button", {class: "link", id: "to-signup", type: "button",
             onclick: () => render("signup")}, "Create a free account"))
        : el("p", {}, "Already have an account? ", el("button", {class: "link", id: "to-login",
             type: "button", onclick: () => render("login")}, "Log in"));
      // no close button: like Puter's, these forms are left only by finishing or closing the window
      show(el("h1", {}, kind === "login" ? "Log in to Puter" : "Create a free account"), form, other,
           el("p", {class: "hint"}, C.hint));
    }
    render(which);
  });
}

// -- delivery ---------------------------------------------------------------------------------
function deliver(opener, data) {
  const message = Object.assign({msg: "puter.token"}, data, {msg_id: msgId});
  if (!window.opener) note("no_opener");  // under COOP: the message has nowhere to go
  if (window.opener) {
    note("posted", {success: data.success === true});
    window.opener.postMessage(message, opener);
    if (C.post_twice && data.success) window.opener.postMessage(message, opener);
  }
  window.close();
  try { window.open("", "_self").close(); } catch (e) { /* already closing */ }
}
async function exchange(opener, token) {
  try {
    const r = await fetch(C.api_origin + "/auth/get-user-app-token", {method: "POST",
      headers: {"Content-Type": "application/json", Authorization: "Bearer " + token},
      body: JSON.stringify({origin: opener})});
    return r.ok ? await r.json() : null;
  } catch (e) { return null; }
}

// -- the pages --------------------------------------------------------------------------------
async function signInPopup() {
  let found;
  try {
    found = await openerOrigin();
  } catch (e) {
    note("no_origin");
    show(el("h1", {}, "Something went wrong"), el("p", {id: "boot-error"}, "No referrer found"));
    return;
  }
  note("origin", found);
  const opener = found.origin;
  const users = await signedInUsers();
  let auth;
  if (users.length) {
    auth = await picker(users);
    if (!auth) { deliver(opener, {success: false, token: null}); return; }
  } else if (attemptTemp && firstVisit) {
    auth = await guest(opener);
  } else {
    auth = await forms("signup");
  }
  remember(auth.user, auth.token);
  spinner("Signing you in…");
  // Puter's guest branch delivers by postMessage only, even to an isolated opener (which never
  // hears it: under COOP the popup has no opener). The sandbox does the same.
  if (isolated && !auth.guest) return relay(opener, auth);
  const reply = await exchange(opener, auth.token);
  if (reply && reply.token) {
    deliver(opener, {success: true, token: reply.token, app_uid: reply.app_uid,
                     username: auth.user.username});
  } else {
    note("exchange_failed");
    deliver(opener, {success: false, token: null});
  }
}
async function relay(opener, auth) {
  const reply = await exchange(new URL(opener).origin, auth.token);
  let ok = false;
  if (reply && reply.token) {
    try {
      const r = await fetch(C.api_origin + "/login/set", {method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({auth_token: reply.token, session: signinSession})});
      ok = r.ok;
    } catch (e) { ok = false; }
  }
  note(ok ? "relay_set" : "relay_failed");
  if (!ok) {
    show(el("h1", {}, "Couldn't sign you in"), el("p", {id: "relay-error"}, "Please try again."));
    return;  // it stays open, as Puter's does
  }
  window.close();
  try { window.open("", "_self").close(); } catch (e) { /* already closing */ }
}
async function copyAuth() {
  note("copyauth");
  const users = await signedInUsers();
  const auth = users.length ? {token: users[0].auth_token, user: users[0]} : await forms("login");
  remember(auth.user, auth.token);
  const r = await fetch(C.api_origin + "/auth/create-access-token", {method: "POST",
    headers: {"Content-Type": "application/json", Authorization: "Bearer " + auth.token},
    body: JSON.stringify({permissions: ["full-api-access"], label: "Copied from the token page"})});
  const data = r.ok ? await r.json() : {};
  const field = el("input", {id: "copy-token", readonly: "", value: data.token || ""});
  show(el("h1", {}, "Your Puter token"),
       el("p", {}, "Signed in as " + auth.user.username + ". Paste this token where you were asked."),
       field,
       el("button", {class: "primary", id: "copy", onclick: () => {
         field.select(); navigator.clipboard && navigator.clipboard.writeText(field.value).catch(() => {});
       }}, "Copy"));
}
async function desktop() {
  note("desktop");
  const users = await signedInUsers();
  const auth = users.length ? {token: users[0].auth_token, user: users[0]} : await forms("signup");
  remember(auth.user, auth.token);
  show(el("h1", {}, "Puter sandbox"), el("p", {id: "desktop"}, "Signed in as " + auth.user.username));
}

async function main() {
  note("opened");
  if (C.boot_delay > 0) await sleep(C.boot_delay * 1000);
  if (action === "copyauth") return copyAuth();
  if (embedded && (action === "sign-in" || action === "")) return signInPopup();
  return desktop();
}
main();
})();
</script></body></html>
"""
