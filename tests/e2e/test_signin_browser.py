"""Signing in with one click, as a user does it: JupyterLab 4 and Notebook 7 in Chromium (its popup
blocker on), a real kernel, and the sandbox playing Puter's GUI (``puter.localhost``) and API
(``api.puter.localhost``) on loopback, apart from the notebook page's own origin.

Each test writes a notebook, opens it, runs it with Run All (or runs one cell), clicks "Sign in with
Puter" and drives the popup as a person would. What reaches the kernel is watched on the page's
websocket: a token travels there only inside a comm message of kind "token", and the tests count
those. Every test here fails on a %puter_login that shows no button.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import nbformat
import pytest
import requests

from puter_magic.sandbox import Sandbox
from tests.media_server import MediaServer, Route

from ..conftest import ROOT
from .conftest import SERVER_TOKEN, Jupyter

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SHOTS = ROOT / "tests" / "artifacts"

BOTH = pytest.mark.parametrize("frontend", ["lab", "notebook"])
WIDGET_STATE = "@jupyter-widgets/jupyterlab-manager:plugin"


@pytest.fixture
def server(jupyter: Jupyter) -> Iterator[Jupyter]:
    """The Jupyter server, its kernels shut down after each test (each test has its own)."""
    yield jupyter
    sessions = requests.get(f"{jupyter.base}/api/sessions", params={"token": SERVER_TOKEN}, timeout=10)
    for session in sessions.json():
        requests.delete(
            f"{jupyter.base}/api/sessions/{session['id']}", params={"token": SERVER_TOKEN}, timeout=30
        )


class Notebook:
    """One notebook open in one page, and what its page sent to the kernel."""

    def __init__(self, context: Any, server: Jupyter, frontend: str, cells: list[str]) -> None:
        from playwright.sync_api import expect

        expect.set_options(timeout=30_000)
        self.name = f"signin-{uuid.uuid4().hex[:8]}.ipynb"
        self.path = server.root / self.name
        self.frontend = frontend
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nbformat.write(nb, self.path)
        self.page = context.new_page()
        self.frames: list[str] = []  # what the page sent on its kernel websocket
        self.console: list[str] = []
        self.page.on("websocket", self._watch)
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.goto(server.url(frontend, self.name))
        self.panel = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        expect(self.cells.first).to_be_visible(timeout=90_000)
        # A connected kernel (the toolbar says "idle" before one exists, and Run All then does nothing).
        if frontend == "lab":
            expect(self.page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=90_000)
        else:
            toolbar = self.panel.locator(".jp-Toolbar").first
            expect(toolbar.locator(".jp-Toolbar-kernelName")).to_contain_text("Python 3", timeout=90_000)
            expect(toolbar.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(
                1, timeout=90_000
            )

    def _watch(self, socket: Any) -> None:
        def sent(payload: Any) -> None:
            self.frames.append(payload if isinstance(payload, str) else bytes(payload).decode("latin-1"))

        socket.on("framesent", sent)

    @property
    def cells(self) -> Any:
        return self.panel.locator(".jp-CodeCell")

    def output(self, index: int) -> Any:
        return self.cells.nth(index).locator(".jp-OutputArea")

    def prompt(self, index: int) -> Any:
        return self.cells.nth(index).locator(".jp-InputPrompt")

    def button(self, index: int) -> Any:
        return self.output(index).locator(".puter-signin-button")

    def run_all(self) -> None:
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    def click_sign_in(self, index: int) -> Any:
        """Click the button as a user does; the popup it opened."""
        with self.page.expect_popup() as opened:
            self.button(index).click()
        return opened.value

    def token_messages(self) -> int:
        """How many comm messages carried a token from the page to the kernel."""
        return sum(frame.count('"kind":"token"') for frame in self.frames)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"signin-{name}-{self.frontend}.png"), full_page=True)

    def save(self) -> dict[str, Any]:
        """Save as a user does (Ctrl+S) and read the file back from disk."""
        before = self.path.stat().st_mtime_ns
        self.prompt(0).click()
        self.page.keyboard.press("Control+s")
        deadline = time.monotonic() + 30
        while self.path.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.path.stat().st_mtime_ns != before, "the notebook was not saved"
        time.sleep(0.5)  # the write may still be landing
        saved: dict[str, Any] = json.loads(self.path.read_text())
        return saved


def closed(popup: Any) -> None:
    """Wait until the popup closed itself. It may already have: Playwright does not replay a
    "close" event that was handled during an earlier call (a click, say)."""
    if not popup.is_closed():
        popup.wait_for_event("close", timeout=30_000)


def popup_query(popup: Any) -> dict[str, str]:
    parts = urlsplit(popup.url)
    return {"path": parts.path, **{k: v[0] for k, v in parse_qs(parts.query).items()}}


def kernel_whoamis(puter: Sandbox) -> list[str]:
    """The app tokens the kernel checked with /whoami (the GUI's own pages use session tokens)."""
    return [
        r.token
        for r in puter.requests
        if r.path == "/whoami" and r.token and (grant := puter.gui.grant(r.token)) and grant.kind == "app"
    ]


def every_token(puter: Sandbox) -> set[str]:
    return {r.token for r in puter.requests if r.token}


def guests(puter: Sandbox) -> list[str]:
    return [name for name, account in puter.gui.accounts.items() if account.is_temp]


# -- one click -------------------------------------------------------------------------------------


@BOTH
def test_a_guest_signs_in_with_one_click_and_run_all_goes_on(
    context: Any, server: Jupyter, puter: Sandbox, gui: Any, frontend: str
) -> None:
    from playwright.sync_api import expect

    gui.temp_user_delay = 2.0  # Puter's spinner: time to look at the popup before it closes
    before = set(guests(puter))
    nb = Notebook(
        context,
        server,
        frontend,
        [
            "%load_ext puter_magic",
            f"%puter_login --origin {puter.origin}",
            "%puter -m sandbox-echo asked after",
        ],
    )
    nb.run_all()
    expect(nb.button(1)).to_be_visible(timeout=60_000)
    expect(nb.button(1)).to_have_text("Sign in with Puter")
    time.sleep(1.0)
    expect(nb.prompt(2)).not_to_have_text(re.compile(r"\[\d+\]"))  # Run All waits for the click
    popup = nb.click_sign_in(1)
    query = popup_query(popup)
    assert query["path"] == "/action/sign-in" and query["embedded_in_popup"] == "true"
    assert re.fullmatch(r"[0-9a-f]{24}", query["msg_id"]) and query["attempt_temp_user_creation"] == "true"
    assert popup.evaluate("window.name") == "Puter"
    assert popup.evaluate("window.opener !== null")  # never noopener
    closed(popup)  # the popup signs a guest in and closes itself

    [guest] = set(guests(puter)) - before
    line = nb.output(1)
    expect(line).to_contain_text(f"Signed in to {puter.origin} as {guest}", timeout=30_000)
    expect(line).to_contain_text("temporary guest account")
    expect(line).to_contain_text(f"sign up at {puter.gui_origin} in the same browser")
    expect(nb.button(1)).to_have_count(0)  # the button's row became that line
    expect(nb.output(2)).to_contain_text("asked after", timeout=30_000)  # ...and Run All went on, signed in
    expect(nb.prompt(2)).to_have_text("[3]:")
    nb.shot("guest")
    record = puter.gui.popups[-1]
    assert record.origin_via == "referrer" and record.opener_origin == server.base + "/"
    assert nb.token_messages() == 1 and len(kernel_whoamis(puter)) == 1
    assert not any(token in line for token in every_token(puter) for line in nb.console)


@BOTH
def test_a_second_visit_picks_the_account(
    context: Any, server: Jupyter, puter: Sandbox, gui: Any, frontend: str
) -> None:
    from playwright.sync_api import expect

    login = f"%puter_login --origin {puter.origin}"
    first = Notebook(context, server, frontend, ["%load_ext puter_magic", login])
    first.run_all()
    closed(first.click_sign_in(1))
    expect(first.output(1)).to_contain_text("Signed in to", timeout=30_000)
    [guest] = guests(puter)[-1:]
    first.page.close()

    again = Notebook(
        context, server, frontend, ["%load_ext puter_magic", login, "%puter -m sandbox-echo me again"]
    )
    again.run_all()
    popup = again.click_sign_in(1)
    account = popup.locator(f".account[data-username='{guest}']")
    expect(account).to_be_visible()  # the account picker: one click is consent
    with popup.expect_event("close"):
        account.click()
    expect(again.output(1)).to_contain_text(f"Signed in to {puter.origin} as {guest}", timeout=30_000)
    expect(again.output(2)).to_contain_text("me again", timeout=30_000)
    assert guests(puter)[-1] == guest  # no second guest was made
    assert "picker" in puter.gui.popups[-1].events and "temp_user" not in puter.gui.popups[-1].events


def test_a_page_whose_referrer_is_stripped_answers_the_handshake(
    context: Any, server: Jupyter, puter: Sandbox, gui: Any
) -> None:
    from playwright.sync_api import expect

    gui.ignore_referrer = True  # as under Referrer-Policy: no-referrer
    nb = Notebook(
        context, server, "notebook", ["%load_ext puter_magic", f"%puter_login --origin {puter.origin}"]
    )
    nb.run_all()
    closed(nb.click_sign_in(1))
    expect(nb.output(1)).to_contain_text(f"Signed in to {puter.origin} as", timeout=30_000)
    record = puter.gui.popups[-1]
    assert record.origin_via == "handshake" and record.opener_origin == server.base  # the browser attests it


# -- when it does not work out ------------------------------------------------------------------


@BOTH
def test_a_closed_popup_cancels_and_an_earlier_login_stays(
    context: Any, server: Jupyter, puter: Sandbox, gui: Any, frontend: str
) -> None:
    from playwright.sync_api import expect

    nb = Notebook(
        context,
        server,
        frontend,
        [
            "%load_ext puter_magic",
            f"%puter_login --origin {puter.origin} --token-env E2E_SANDBOX_TOKEN",  # signed in earlier
            f"%puter_login --origin {puter.origin} --no-guest",
            "%puter -m sandbox-echo still the learner",
        ],
    )
    nb.run_all()
    popup = nb.click_sign_in(2)
    assert "attempt_temp_user_creation" not in popup_query(popup)  # --no-guest
    expect(popup.locator("#signup-form")).to_be_visible()
    popup.close()  # the user gives up
    expect(nb.output(2)).to_contain_text("Sign-in was cancelled; nothing changed", timeout=30_000)
    expect(nb.output(3)).to_contain_text("still the learner", timeout=30_000)  # Run All went on, as before
    expect(nb.button(2)).to_be_visible()  # a second click can still sign in
    nb.shot("cancelled")
    assert nb.token_messages() == 0


def test_a_blocked_popup_says_so_and_keeps_the_button(
    context: Any, server: Jupyter, puter: Sandbox, gui: Any
) -> None:
    from playwright.sync_api import expect

    nb = Notebook(
        context,
        server,
        "lab",
        [
            "%load_ext puter_magic",
            f"%puter_login --origin {puter.origin}",
            "%puter -m sandbox-echo unblocked",
        ],
    )
    nb.run_all()
    expect(nb.button(1)).to_be_visible(timeout=60_000)
    # A click that is no user gesture (script, 7 s after the page's last activation): the
    # browser's popup blocker refuses window.open, as it refuses a popup a user did not ask for.
    nb.page.evaluate("setTimeout(() => document.querySelector('.puter-signin-button').click(), 7000)")
    pages, popups = len(context.pages), len(puter.gui.popups)
    time.sleep(9)  # hands off the page meanwhile: every Playwright call would count as a gesture
    status = nb.output(1).locator(".puter-signin-status")
    expect(status).to_contain_text("The browser blocked the sign-in popup")
    expect(status).to_contain_text("click the button again")
    nb.shot("blocked")
    assert len(context.pages) == pages and len(puter.gui.popups) == popups  # no popup opened
    expect(nb.prompt(2)).not_to_have_text(re.compile(r"\[\d+\]"))  # still waiting
    closed(nb.click_sign_in(1))  # a real click: a new gesture
    expect(nb.output(1)).to_contain_text("Signed in to", timeout=30_000)
    expect(nb.output(2)).to_contain_text("unblocked", timeout=30_000)


FORGER = """<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>forger</title><script>
const q = new URLSearchParams(location.search);
let answered = false;
addEventListener("message", (event) => {
  if (event.data && event.data.msg === "originResponse") answered = true;
});
window.opener.postMessage({msg: "requestOrigin"}, "*");
window.opener.postMessage({msg: "puter.token", success: true, token: "forged-by-another-origin",
                           app_uid: "app-x", username: "mallory", msg_id: q.get("msg_id")}, "*");
setTimeout(() => {
  fetch("/seen?answered=" + answered).finally(() => { location.href = q.get("next"); });
}, 1500);
</script>"""


def test_forged_token_messages_are_not_used(context: Any, server: Jupyter, puter: Sandbox, gui: Any) -> None:
    from playwright.sync_api import expect

    forger = MediaServer()  # another origin: http://127.0.0.1:<another port>
    forger.routes["/forge"] = Route(200, FORGER.encode(), "text/html; charset=utf-8")
    forger.routes["/seen"] = Route(204, b"", None)
    try:
        nb = Notebook(
            context,
            server,
            "lab",
            [
                "%load_ext puter_magic",
                f"%puter_login --origin {puter.origin} --no-guest",
                "%puter -m sandbox-echo signed in?",
            ],
        )
        nb.run_all()
        popup = nb.click_sign_in(1)
        msg_id = popup_query(popup)["msg_id"]
        expect(popup.locator("#signup-form")).to_be_visible()
        # 1. The same window, the right msg_id, another origin: not the GUI, so neither a token
        #    nor an answer to its requestOrigin. 2. Then the GUI origin, the same window, but
        #    another msg_id: a real sign-in whose token is not for this click. (The window
        #    navigates itself, as a page does; its referrer stripped, the GUI asks the opener.)
        wrong = f"{puter.gui_origin}/action/sign-in?embedded_in_popup=true&msg_id=not-{msg_id}"
        forge = forger.url("/forge?" + urlencode({"msg_id": msg_id, "next": wrong}))
        popup.evaluate("url => { location.href = url; }", forge)
        popup.locator("#signup-form").wait_for()
        assert popup.url == wrong
        seen = [r["path"] for r in forger.seen if r["path"] != "/favicon.ico"]
        assert seen == ["/forge?" + urlsplit(forge).query, "/seen?answered=false"]
        popup.click("#to-login")
        popup.fill("#login-form input[name=username]", "learner")
        popup.fill("#login-form input[name=password]", puter.gui.password)
        with popup.expect_event("close"):
            popup.click("#login-form button[type=submit]")
        record = puter.gui.popups[-1]
        assert record.posted == [True] and record.origin_via == "handshake"  # a real token was posted
        assert record.opener_origin == server.base  # ...to this page
        expect(nb.output(1)).to_contain_text("Sign-in was cancelled; nothing changed", timeout=30_000)
        expect(nb.output(2)).to_contain_text("Not signed in", timeout=30_000)
    finally:
        forger.close()
    assert nb.token_messages() == 0 and kernel_whoamis(puter) == []
    assert not [r for r in puter.requests if r.token == "forged-by-another-origin"]


def test_a_duplicate_success_message_is_used_once(
    context: Any, server: Jupyter, puter: Sandbox, gui: Any
) -> None:
    from playwright.sync_api import expect

    gui.post_twice = True
    nb = Notebook(
        context, server, "notebook", ["%load_ext puter_magic", f"%puter_login --origin {puter.origin}"]
    )
    nb.run_all()
    closed(nb.click_sign_in(1))
    expect(nb.output(1)).to_contain_text("Signed in to", timeout=30_000)
    time.sleep(1.0)  # room for a second message to arrive, were it taken
    assert puter.gui.popups[-1].posted == [True]  # the page posts twice under one note
    assert nb.token_messages() == 1 and len(kernel_whoamis(puter)) == 1


# -- the token stays in the kernel ---------------------------------------------------------------


@BOTH
def test_the_saved_notebook_holds_no_token(
    context: Any, server: Jupyter, puter: Sandbox, gui: Any, frontend: str
) -> None:
    """Saved with and without the widgets' state: the line is there, the token is not."""
    from playwright.sync_api import expect

    cells = [
        "%load_ext puter_magic",
        f"%puter_login --origin {puter.origin}",  # the cell waits: the button becomes a line
        f"%puter_login --origin {puter.origin} --no-wait",  # the button stays a widget
    ]
    try:
        for save_state in (False, True):
            server.settings(WIDGET_STATE, json.dumps({"saveState": save_state}))
            nb = Notebook(context, server, frontend, cells)
            nb.run_all()
            popup = nb.click_sign_in(1)
            if save_state:  # the second round: the GUI knows this browser, its picker asks
                popup.locator(".account").first.click()
            closed(popup)
            expect(nb.output(1)).to_contain_text("Signed in to", timeout=30_000)
            nb.click_sign_in(2).locator(".account").first.click()
            expect(nb.output(2).locator(".puter-signin-done")).to_contain_text("Signed in to", timeout=30_000)
            # the row is the same styled note a waiting cell shows (output 1), not a plain line
            expect(nb.output(2).locator(".puter-signin-done .puter-note strong")).to_contain_text(
                "Signed in to"
            )
            saved = nb.save()
            text = json.dumps(saved)
            tokens = every_token(puter)
            assert tokens and not [t for t in tokens if t in text]
            assert "Signed in to" in json.dumps(saved["cells"][1]["outputs"])
            widgets = saved["metadata"].get("widgets", {})
            if save_state:
                state = json.dumps(widgets)
                assert "SignInButton" in state and "Signed in to" in state  # the state was saved...
            else:
                assert "Signed in to" not in json.dumps(widgets)
            assert not [t for t in tokens if t in server.log.read_text()]
            assert not [t for t in tokens for line in nb.console if t in line]
            nb.page.close()
    finally:
        server.settings(WIDGET_STATE, json.dumps({"saveState": False}))


# -- where nobody can click ------------------------------------------------------------------------


def test_nbconvert_never_waits(tmp_path: Any, puter: Sandbox) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(source)
        for source in (
            "%load_ext puter_magic",
            f"%puter_login --origin {puter.origin}",
            f"%puter_login --origin {puter.origin} --no-wait",
            "print('the cells after it ran')",
        )
    ]
    path = tmp_path / "unattended.ipynb"
    nbformat.write(nb, path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTER_")}
    env["PUTER_MAGIC_CONFIG_DIR"] = str(tmp_path / "config")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
         "--ExecutePreprocessor.timeout=60", "--inplace", str(path)],
        check=True, timeout=150, env=env, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    cells = nbformat.read(path, as_version=4).cells
    [error] = cells[1].outputs
    assert error["output_type"] == "stream" and error["name"] == "stderr"
    lines = error["text"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("UsageError: no Puter token found"), lines
    button, note = cells[2].outputs
    assert "application/vnd.jupyter.widget-view+json" in button["data"]
    assert "a button here signs in" in note["data"]["text/plain"]  # what an exported page shows
    assert button["data"]["text/plain"].startswith("Sign in with Puter")
    assert cells[3].outputs[0]["text"] == "the cells after it ran\n"


# -- terminal IPython --------------------------------------------------------------------------------


def test_terminal_ipython_shows_the_token_page_and_takes_the_token_at_the_prompt(
    context: Any, puter: Sandbox, gui: Any, terminal: Any
) -> None:
    from playwright.sync_api import expect

    terminal.send("%load_ext puter_magic")
    terminal.wait_for("In [2]:")
    terminal.send(f"%puter_login --origin {puter.origin}")
    screen = terminal.wait_for("(input hidden):")
    page_url = f"{puter.gui_origin}/?action=copyauth"
    assert page_url in screen and "Sign in at Puter's token page" in screen
    # The user opens the token page in a browser, logs in, copies the token...
    page = context.new_page()
    page.goto(page_url)
    page.fill("#login-form input[name=username]", "learner")
    page.fill("#login-form input[name=password]", puter.gui.password)
    page.click("#login-form button[type=submit]")
    field = page.locator("#copy-token")
    expect(field).not_to_have_value("")
    token = field.input_value()
    # ...and pastes it at the prompt, which does not echo it.
    terminal.send(token)
    screen = terminal.wait_for("In [3]:")
    assert f"Signed in to {puter.origin} as learner (token from prompt)" in screen
    assert token not in screen
