"""The sandbox's AuthMe page: Puter's ``/?action=authme&redirectURL=...`` sign-in.

Real Puter shows the signed-in user a page asking to let a program sign in, then sends
the browser to ``redirectURL?token=<token>``. The sandbox does the same with an "Allow"
button (or at once, with ``authme_auto_approve``), and only for loopback redirect URLs.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from .net import is_loopback_host

if TYPE_CHECKING:
    from . import Sandbox


def _with_token(redirect: str, token: str) -> str:
    parts = urlsplit(redirect)
    query = (parts.query + "&" if parts.query else "") + urlencode({"token": token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def authme_reply(sandbox: Sandbox, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
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
