"""Who a token signs in as (``/whoami`` read into data), and the GUI origin Puter pairs with
an API origin (where the sign-in popup and the token page live)."""

from __future__ import annotations

import json

import pytest

from puter_magic import PuterClient
from puter_magic.api.account import Account, app_uid_for_origin
from puter_magic.api.origin import parse_gui_origin, parse_origin
from tests.media_server import MediaServer, Route

# An app token's /whoami as Puter answers it (flags from its database may be 0/1).
GUEST = {
    "username": "quiet_fox_4821",
    "uuid": "9f1c2b1e-0000-4000-8000-000000000007",
    "email_confirmed": 0,
    "requires_email_confirmation": False,
    "is_temp": 1,
    "oidc_only": True,
    "feature_flags": {},
    "app_name": "app-2eed5947-eadd-5a16-9ee1-a90baebf41cb",
}


def test_a_guest_app_token_is_read_as_such() -> None:
    account = Account.from_whoami(GUEST)
    assert account.username == "quiet_fox_4821" and account.guest and account.is_temp
    assert account.app_token and account.app_name == "app-2eed5947-eadd-5a16-9ee1-a90baebf41cb"
    assert account.email_confirmed is False
    assert account.details["oidc_only"] is True


def test_a_full_account_is_no_guest_and_odd_values_are_not_believed() -> None:
    account = Account.from_whoami({"username": "learner", "is_temp": False, "email_confirmed": True})
    assert not account.guest and not account.app_token and account.email_confirmed is True
    odd = Account.from_whoami({"username": 7, "is_temp": "yes", "app_name": "", "email_confirmed": 2})
    assert odd.username is None and not odd.guest and odd.app_name is None and odd.email_confirmed is None


def test_app_uid_as_puter_derives_it() -> None:
    # The uid puter-signin.md records for this origin (Puter's hard-coded localhost uid agrees).
    assert app_uid_for_origin("http://localhost:8888") == "app-2eed5947-eadd-5a16-9ee1-a90baebf41cb"
    assert app_uid_for_origin("http://LOCALHOST:8888/") == app_uid_for_origin("http://localhost:8888")
    assert app_uid_for_origin("https://x.example:443") == app_uid_for_origin("https://x.example")
    with pytest.raises(ValueError):
        app_uid_for_origin("vscode-webview://abc")


def test_the_client_knows_a_guest_from_whoami() -> None:
    server = MediaServer()
    server.routes["/whoami"] = Route(200, json.dumps(GUEST).encode(), "application/json")
    try:
        with PuterClient(server.url(""), "app-token", timeout=(2, 5)) as client:
            assert client.account is None and not client.is_guest  # not asked yet
            client.whoami()
            assert client.is_guest and client.account is not None
            assert client.account.username == "quiet_fox_4821"
    finally:
        server.close()


@pytest.mark.parametrize(
    ("api", "gui"),
    [
        ("https://api.puter.com", "https://puter.com"),
        ("http://api.puter.localhost:4100", "http://puter.localhost:4100"),
        ("https://api.puter.example.org", "https://puter.example.org"),
        ("https://puter.example.org", "https://puter.example.org"),  # no api.: its own GUI
        ("http://127.0.0.1:4100", "http://127.0.0.1:4100"),
        ("https://api.puter.com:443", "https://puter.com"),
    ],
)
def test_gui_origin_pairs_as_puter_does(api: str, gui: str) -> None:
    assert parse_origin(api).gui_url() == gui


def test_a_gui_origin_is_spelled_as_a_browser_spells_origins() -> None:
    assert parse_gui_origin("https://Puter.COM/") == "https://puter.com"
    assert parse_gui_origin("https://puter.com:443") == "https://puter.com"
    assert parse_gui_origin("http://puter.localhost:4100") == "http://puter.localhost:4100"
    for bad in ("https://puter.com/action", "puter.com", "ftp://puter.com", "http://puter.example.org"):
        with pytest.raises(ValueError):
            parse_gui_origin(bad)
