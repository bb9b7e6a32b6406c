"""Where a token comes from, and where a saved login lives (no IPython).

Token sources, first match wins: an environment variable the user names, then
``PUTER_AUTH_TOKEN``, then (in Google Colab) a ``PUTER_AUTH_TOKEN`` kept in Colab's Secrets,
then a saved login for the origin; the notebook asks the user after that. A token
is never accepted from a magic's line (it would be saved in the notebook).

Saved logins live in ``$PUTER_MAGIC_CONFIG_DIR`` or ``$XDG_CONFIG_HOME/puter-magic`` (by
default ``~/.config/puter-magic``), in ``login.json``, written atomically to a file that is
created with mode 0600 (it is never readable by others, not even for a moment).
"""

from __future__ import annotations

import html
import json
import os
import secrets
import tempfile
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .errors import PuterTimeout

__all__ = [
    "LoginStore",
    "SavedLogin",
    "TokenSource",
    "authme_sign_in",
    "config_dir",
    "token_from_colab_secrets",
    "token_from_env",
]

TOKEN_ENV = "PUTER_AUTH_TOKEN"


def config_dir() -> Path:
    explicit = os.environ.get("PUTER_MAGIC_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "puter-magic"


@dataclass
class TokenSource:
    """A token and where it came from (the token itself is never shown)."""

    token: str = field(repr=False)
    source: str

    def __str__(self) -> str:
        return self.source


def token_from_env(name: str | None = None) -> TokenSource | None:
    """The token in *name* (or ``PUTER_AUTH_TOKEN``), if set and not blank."""
    var = name or TOKEN_ENV
    value = os.environ.get(var, "").strip()
    return TokenSource(value, f"${var}") if value else None


def token_from_colab_secrets(name: str = TOKEN_ENV) -> TokenSource | None:
    """The token kept as *name* in Google Colab's Secrets (the key icon in Colab's side bar),
    read like the environment variable; None outside Colab, or when the secret is not there
    or the notebook was not given access to it."""
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return None
    refusals = tuple(
        kind
        for kind in (
            getattr(userdata, "SecretNotFoundError", None),
            getattr(userdata, "NotebookAccessError", None),
            getattr(userdata, "TimeoutException", None),
        )
        if isinstance(kind, type) and issubclass(kind, BaseException)
    )
    try:
        value = userdata.get(name)
    except refusals:
        return None
    value = value.strip() if isinstance(value, str) else ""
    return TokenSource(value, "Colab Secrets") if value else None


@dataclass
class SavedLogin:
    origin: str
    token: str = field(repr=False)
    username: str | None = None
    saved_at: float = 0.0


class LoginStore:
    """Saved logins, one per origin, in a private file."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or config_dir()

    @property
    def path(self) -> Path:
        return self.directory / "login.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}
        logins = data.get("logins") if isinstance(data, dict) else None
        return logins if isinstance(logins, dict) else {}

    def get(self, origin: str) -> SavedLogin | None:
        entry = self._read().get(origin)
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            return None
        username = entry.get("username")
        return SavedLogin(
            origin,
            entry["token"],
            username if isinstance(username, str) else None,
            float(entry.get("saved_at") or 0),
        )

    def save(self, origin: str, token: str, username: str | None) -> Path:
        logins = self._read()
        logins[origin] = {"token": token, "username": username, "saved_at": time.time()}
        self._write({"logins": logins})
        return self.path

    def forget(self, origin: str | None = None) -> bool:
        """Forget one origin's login (or all of them); True if something was removed."""
        logins = self._read()
        if origin is None:
            existed = self.path.exists()
            if existed:
                self.path.unlink()
            return existed
        if origin not in logins:
            return False
        del logins[origin]
        if logins:
            self._write({"logins": logins})
        else:
            self.path.unlink(missing_ok=True)
        return True

    def _write(self, data: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkstemp creates the file with mode 0600 (O_EXCL), then it is renamed over the
        # old one: readers see the old file or the new one, never half of one.
        fd, tmp = tempfile.mkstemp(prefix=".login-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __repr__(self) -> str:
        return f"LoginStore({str(self.path)!r})"


class _AuthMeHandler(BaseHTTPRequestHandler):
    server: _AuthMeServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request line carries the token: never log it

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        token = (parse_qs(url.query).get("token") or [""])[0]
        if url.path.rstrip("/") != "/" + self.server.nonce or not token:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.token = token
        page = (
            "<!doctype html><meta charset='utf-8'><title>Signed in</title>"
            "<body style='font-family:sans-serif;max-width:30em;margin:4em auto'>"
            f"<h1>Signed in</h1><p>{html.escape(self.server.label)} has your Puter sign-in. "
            "You can close this tab and go back to your notebook.</p></body>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)


class _AuthMeServer(HTTPServer):
    def __init__(self, nonce: str, label: str) -> None:
        super().__init__(("127.0.0.1", 0), _AuthMeHandler)
        self.nonce = nonce
        self.label = label
        self.token: str | None = None


def authme_url(gui_origin: str, redirect: str) -> str:
    return f"{gui_origin.rstrip('/')}/?" + urlencode({"action": "authme", "redirectURL": redirect})


def authme_sign_in(
    gui_origin: str,
    *,
    timeout: float = 180.0,
    open_browser: bool = True,
    show_link: Callable[[str], None] | None = None,
    cancelled: threading.Event | None = None,
) -> str:
    """Puter's AuthMe flow: a one-shot listener on 127.0.0.1 takes ``?token=`` from the
    browser's redirect. Returns the token; raises PuterTimeout if none came in time.
    """
    nonce = secrets.token_urlsafe(12)
    server = _AuthMeServer(nonce, "puter-magic")
    server.timeout = 0.2
    try:
        redirect = f"http://127.0.0.1:{server.server_address[1]}/{nonce}/"
        url = authme_url(gui_origin, redirect)
        if show_link is not None:
            show_link(url)
        if open_browser:
            try:
                webbrowser.open(url, new=2)
            except Exception:
                pass
        deadline = time.monotonic() + timeout
        while server.token is None:
            if time.monotonic() > deadline:
                raise PuterTimeout(f"no sign-in arrived from {gui_origin} within {timeout:.0f} s")
            if cancelled is not None and cancelled.is_set():
                raise PuterTimeout("sign-in cancelled")
            server.handle_request()
        return server.token
    finally:
        server.server_close()
