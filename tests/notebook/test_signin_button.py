"""%puter_login's "Sign in with Puter" button, kernel side, without a browser.

The page's messages are delivered to the widget as its frontend would send them (custom comm
messages); waiting is played by a fake of :mod:`puter_magic.notebook.waiting` that delivers a
script of page messages while the cell "waits". The real browser, popup and kernel are in
tests/e2e/test_signin_browser.py.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.notebook import account, waiting
from puter_magic.notebook.popup import SignInButton
from puter_magic.sandbox import Sandbox
from tests.media_server import MediaServer, Route

from ..shell import magics_of, run

Message = dict[str, Any]


class Page:
    """The browser side: what the page will say while the cell waits (a script), and the
    widget(s) the kernel created."""

    def __init__(self) -> None:
        self.script: list[Message | Callable[[], None]] = []
        self.widgets: list[SignInButton] = []
        self.waited: list[float] = []

    @property
    def widget(self) -> SignInButton:
        return self.widgets[-1]

    def say(self, content: Message) -> None:
        self.widget._handle_custom_msg(content, [])

    def wait_until(self, done: Callable[[], bool], timeout: float) -> waiting.WaitResult:
        self.waited.append(timeout)
        for step in self.script:
            if callable(step):
                step()
            else:
                self.say(step)
            if done():
                return "done"
        return "done" if done() else "timeout"


@pytest.fixture
def page(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    """A notebook in a browser: %puter_login shows the button, the cell can wait."""
    fake = Page()
    real_init = SignInButton.__init__

    def init(self: SignInButton, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        fake.widgets.append(self)

    monkeypatch.setattr(SignInButton, "__init__", init)
    monkeypatch.setattr(account, "frontend_of", lambda shell: "jupyter")
    monkeypatch.setattr(account, "_can_prompt", lambda: True)
    monkeypatch.setattr(waiting, "can_wait", lambda: True)
    monkeypatch.setattr(waiting, "wait_until", fake.wait_until)
    yield fake
    for widget in fake.widgets:
        widget.close()


RENDERED = {"kind": "rendered", "popups": True}


def texts(outputs: list[dict[str, Any]]) -> list[str]:
    return [o.get("text/plain", "") for o in outputs]


def test_a_click_signs_in_and_the_button_row_becomes_the_line(
    ip: InteractiveShell, page: Page, sandbox: Sandbox
) -> None:
    page.script = [RENDERED, {"kind": "opened"}, {"kind": "token", "token": sandbox.token}]
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert result.success, result.error_in_exec
    [line] = outputs  # the button's output was replaced by the line: nothing else
    assert line["text/plain"].startswith(
        f"Signed in to {sandbox.origin} as learner (token from Puter sign-in)"
    )
    assert "application/vnd.jupyter.widget-view+json" not in line
    assert magics_of(ip).session.username == "learner"
    assert page.waited == [180.0]  # login_timeout
    widget = page.widget
    assert widget.state == "signed-in" and widget.message.startswith("Signed in to")
    assert sandbox.token not in json.dumps(outputs)
    assert sandbox.token not in json.dumps(widget.get_state(), default=str)


def test_the_widget_never_holds_the_token_in_its_state(
    page: Page, ip: InteractiveShell, sandbox: Sandbox
) -> None:
    states: list[str] = []
    page.script = [
        RENDERED,
        lambda: states.append(json.dumps(page.widget.get_state(), default=str)),
        {"kind": "token", "token": sandbox.token},
    ]
    run(ip, f"%puter_login --origin {sandbox.origin}")
    states.append(json.dumps(page.widget.get_state(), default=str))
    assert "Signed in to" in states[-1]
    assert len(states) == 2 and all(sandbox.token not in s for s in states)
    synced = set(page.widget.keys)
    assert {"gui_origin", "guest", "state", "message", "tone"} <= synced
    assert not any("token" in name for name in synced)


def test_the_popup_settings_reach_the_page(ip: InteractiveShell, page: Page, sandbox: Sandbox) -> None:
    page.script = [RENDERED, {"kind": "cancelled", "reason": "closed"}]
    run(ip, f"%puter_login --origin {sandbox.origin}")
    assert page.widget.gui_origin == sandbox.origin and page.widget.guest is True  # 127.0.0.1: its own GUI
    run(
        ip,
        f"%puter_login --origin {sandbox.origin} --no-guest --gui-origin http://Puter.localhost:{sandbox.port}/",
    )
    assert page.widget.gui_origin == f"http://puter.localhost:{sandbox.port}" and page.widget.guest is False
    ip.run_line_magic("config", f"PuterMagics.gui_origin = 'http://gui.localhost:{sandbox.port}'")
    run(ip, f"%puter_login --origin {sandbox.origin}")
    assert page.widget.gui_origin == f"http://gui.localhost:{sandbox.port}"
    with pytest.raises(UsageError, match="--gui-origin"):
        ip.run_line_magic("puter_login", f"--origin {sandbox.origin} --gui-origin http://puter.localhost/x")
    ip.run_line_magic("config", "PuterMagics.gui_origin = 'ftp://nope'")
    with pytest.raises(UsageError, match=r"PuterMagics\.gui_origin"):
        ip.run_line_magic("puter_login", f"--origin {sandbox.origin}")


def test_a_closed_popup_cancels_and_an_earlier_login_stays(
    ip: InteractiveShell, page: Page, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUTER_AUTH_TOKEN", sandbox.token)
    run(ip, f"%puter_login --origin {sandbox.origin}")
    session = magics_of(ip).session
    client = session.client
    monkeypatch.delenv("PUTER_AUTH_TOKEN")
    for reason in ("closed", "refused"):
        page.script = [RENDERED, {"kind": "opened"}, {"kind": "cancelled", "reason": reason}]
        outputs, result = run(ip, f"%puter_login --origin {sandbox.origin}")
        assert result.success
        said = texts(outputs)[-1]
        assert said.startswith("Sign-in was cancelled; nothing changed.")
        assert "%puter_login --no-guest" in said  # a guest may have been refused: say what else to do
        assert session.client is client and session.username == "learner"
        assert (
            page.widget.state == "ready" and page.widget.message == ""
        )  # the button stays; the note says it
    page.script = [RENDERED, {"kind": "cancelled", "reason": "closed"}]
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin} --no-guest")
    assert "--no-guest" not in texts(outputs)[-1]


def test_a_token_puter_refuses_warns_and_changes_nothing(
    ip: InteractiveShell, page: Page, sandbox: Sandbox
) -> None:
    page.script = [RENDERED, {"kind": "token", "token": "not-a-token-puter-knows"}]
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert result.success
    [warning] = [o for o in outputs if "puter-warning" in o.get("text/html", "")]
    assert "not-a-token-puter-knows" not in json.dumps(outputs)
    assert magics_of(ip).session.client is None
    assert page.widget.state == "ready" and page.widget.tone == "warn"
    assert "click the button to try again" in page.widget.message
    assert "not-a-token-puter-knows" not in page.widget.message
    assert warning


def test_late_and_duplicate_tokens_change_nothing(ip: InteractiveShell, page: Page, sandbox: Sandbox) -> None:
    page.script = [RENDERED, {"kind": "token", "token": sandbox.token}]
    run(ip, f"%puter_login --origin {sandbox.origin}")
    session = magics_of(ip).session
    client = session.client
    requests_before = len(sandbox.requests)
    page.say({"kind": "token", "token": "another-token"})  # a late message after the sign-in
    page.say({"kind": "cancelled", "reason": "closed"})
    assert session.client is client and len(sandbox.requests) == requests_before
    assert page.widget.state == "signed-in"


def test_messages_that_are_not_the_pages_are_ignored(
    ip: InteractiveShell, page: Page, sandbox: Sandbox
) -> None:
    page.script = [
        RENDERED,
        {"kind": "token"},  # no token
        {"kind": "token", "token": "   "},
        {"kind": "token", "token": 12},
        {"kind": "whatever", "token": sandbox.token},
        {"no": "kind"},
    ]
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert magics_of(ip).session.client is None and not [
        r for r in sandbox.requests if r.path == "/whoami" and r.token
    ]
    assert texts(outputs)[-1].startswith("No sign-in within 180 s (login_timeout); nothing changed.")


def test_no_click_in_time_names_the_timeout(ip: InteractiveShell, page: Page, sandbox: Sandbox) -> None:
    ip.run_line_magic("config", "PuterMagics.login_timeout = 30")
    page.script = [RENDERED, {"kind": "blocked"}]
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert page.waited == [30.0] and page.widget.blocked
    said = texts(outputs)[-1]
    assert said.startswith("No sign-in within 30 s (login_timeout); nothing changed.")
    assert "%config PuterMagics.login_timeout = 600" in said
    page.say({"kind": "token", "token": sandbox.token})  # the button still works afterwards
    assert magics_of(ip).session.username == "learner"
    assert page.widget.state == "signed-in" and page.widget.message.startswith(
        f"Signed in to {sandbox.origin}"
    )


def test_a_frontend_without_popups_gets_the_token_page_and_prompt(
    ip: InteractiveShell, page: Page, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VS Code's outputs render the widget but cannot open popups: the view says so and the
    kernel asks at the prompt instead, at once."""
    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or sandbox.token)
    page.script = [{"kind": "rendered", "popups": False}]
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert asked and sandbox.origin in asked[0]
    said = texts(outputs)
    assert any(t.endswith(f"{sandbox.origin}/?action=copyauth") for t in said)
    assert said[-1].startswith(f"Signed in to {sandbox.origin} as learner (token from prompt)")


def test_a_frontend_that_shows_no_widget_does_not_hold_the_cell(
    ip: InteractiveShell, page: Page, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(account.time, "monotonic", lambda: clock[0])
    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or sandbox.token)

    def later() -> None:
        clock[0] += account.RENDER_GRACE + 1

    page.script = [later]  # nothing rendered: the grace passes
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert asked and texts(outputs)[-1].startswith(f"Signed in to {sandbox.origin} as learner")


def test_where_the_cell_cannot_wait_the_button_stays_and_works_later(
    ip: InteractiveShell, page: Page, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(waiting, "can_wait", lambda: False)
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin} --save")
    assert result.success and page.waited == []
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]
    assert outputs[-1]["text/plain"].startswith("Click “Sign in with Puter” above.")
    page.say(RENDERED)
    page.say({"kind": "cancelled", "reason": "closed"})  # nobody waits: the button's row says it
    assert page.widget.message.startswith("Sign-in was cancelled; nothing changed.")
    page.say({"kind": "token", "token": sandbox.token})  # clicked (again) after the cell ended
    assert magics_of(ip).session.username == "learner"
    assert page.widget.state == "signed-in" and "Saved for next time" in page.widget.message
    saved = json.loads((Path(os.environ["PUTER_MAGIC_CONFIG_DIR"]) / "login.json").read_text())
    assert saved["logins"][sandbox.origin]["token"] == sandbox.token


def test_no_wait_shows_the_button_even_where_nobody_can_click(
    ip: InteractiveShell, page: Page, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(account, "_can_prompt", lambda: False)  # nbconvert, papermill
    with pytest.raises(UsageError, match="no Puter token found, and there is no way to ask for one here"):
        ip.run_line_magic("puter_login", f"--origin {sandbox.origin}")
    assert page.widgets == [] and page.waited == []  # nothing shown, nothing waited for
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin} --no-wait")
    assert result.success and page.waited == [] and len(outputs) == 1
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]
    assert outputs[0]["text/plain"].startswith("Sign in with Puter")


def test_a_click_after_a_no_wait_cell_shows_the_same_note_as_a_waiting_cell(
    ip: InteractiveShell, page: Page, sandbox: Sandbox
) -> None:
    page.script = [RENDERED, {"kind": "token", "token": sandbox.token}]
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    waited = next(o for o in outputs if "puter-note" in o.get("text/html", ""))
    run(ip, f"%puter_login --origin {sandbox.origin} --button --no-wait")
    page.say({"kind": "token", "token": sandbox.token})  # the click, after the cell ended
    assert page.widget.state == "signed-in"
    assert page.widget.note_html == waited["text/html"]  # the row becomes this very note
    assert page.widget.message == waited["text/plain"]


def test_no_wait_where_nobody_clicks_adds_a_note_an_exported_page_can_show(
    ip: InteractiveShell, page: Page, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nbconvert prefers the widget view, whose script an offline page cannot load: the note
    beside it is plain HTML and text, so the exported cell still says what goes there."""
    monkeypatch.setattr(waiting, "can_wait", lambda: False)  # nbconvert, papermill
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin} --button --no-wait")
    assert result.success
    button, note = outputs
    assert "application/vnd.jupyter.widget-view+json" in button
    assert "application/vnd.jupyter.widget-view+json" not in note and "puter-note" in note["text/html"]
    assert note["text/plain"].startswith("Sign in with Puter: in a live notebook a button here signs in")
    assert "did not sign in" in note["text/plain"] and "(%puter_login --prompt)" in note["text/plain"]
    monkeypatch.setattr(waiting, "can_wait", lambda: True)  # a live notebook: the button alone
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin} --button --no-wait")
    assert len(outputs) == 1


def test_a_guest_is_told_what_a_temporary_account_is(ip: InteractiveShell, page: Page) -> None:
    guest = {"username": "quiet_fox_4821", "is_temp": 1, "app_name": "app-x", "email_confirmed": 0}
    server = MediaServer()
    server.routes["/whoami"] = Route(200, json.dumps(guest).encode(), "application/json")
    try:
        origin = server.url("")
        page.script = [RENDERED, {"kind": "token", "token": "guest-app-token"}]
        outputs, _ = run(ip, f"%puter_login --origin {origin}")
    finally:
        server.close()
    [line] = outputs
    said = line["text/plain"]
    assert said.startswith(f"Signed in to {origin} as quiet_fox_4821 (token from Puter sign-in).")
    assert "temporary guest account" in said and "small free allowance" in said
    assert f"sign up at {origin} in the same browser" in said
    client = magics_of(ip).session.client
    assert client is not None and client.is_guest  # what batch pacing reads


def test_options_that_clash_are_one_line(ip: InteractiveShell) -> None:
    for line in ("--sandbox --no-guest", "--sandbox --gui-origin http://puter.localhost:1"):
        with pytest.raises(UsageError, match="--sandbox takes no other options"):
            ip.run_line_magic("puter_login", line)
    with pytest.raises(UsageError, match="--browser: --button, --no-guest and --no-wait"):
        ip.run_line_magic("puter_login", "--browser --no-wait")
    with pytest.raises(UsageError, match="--button or --token-env, not both"):
        ip.run_line_magic("puter_login", "--button --token-env X")


def test_button_signs_in_anew_whatever_the_environment_holds(
    ip: InteractiveShell, page: Page, sandbox: Sandbox, colab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token in the environment, Colab's Secrets or a saved login is passed over: the button."""
    monkeypatch.setenv("PUTER_AUTH_TOKEN", "someone-elses-token")
    colab["PUTER_AUTH_TOKEN"] = "someone-elses-token"
    page.script = [RENDERED, {"kind": "token", "token": sandbox.token}]
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin} --button --save")
    [line] = texts(outputs)
    assert line.startswith(f"Signed in to {sandbox.origin} as learner (token from Puter sign-in)")
    outputs, _ = run(
        ip, f"%puter_login --origin {sandbox.origin} --button --no-wait"
    )  # saved: still the button
    assert page.widget.state == "ready" and outputs[0]["text/plain"].startswith("Sign in with Puter")
    assert "someone-elses-token" not in json.dumps([r.token for r in sandbox.requests])


# -- where no popup is possible -----------------------------------------------------------------


def test_vscode_kernels_show_the_token_page(
    ip: InteractiveShell, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ip.kernel = object()  # type: ignore[attr-defined]  # a kernel, started by VS Code
    monkeypatch.setenv("VSCODE_PID", "4242")
    monkeypatch.delenv("TERM_PROGRAM", raising=False)
    monkeypatch.setattr(account, "_can_prompt", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": sandbox.token)
    try:
        assert account.frontend_of(ip) == "vscode"
        outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
        monkeypatch.setenv("TERM_PROGRAM", "vscode")  # a Jupyter server started in VS Code's terminal
        assert account.frontend_of(ip) == "jupyter"
    finally:
        del ip.kernel  # type: ignore[attr-defined]
    first, last = texts(outputs)
    assert first.startswith("VS Code's notebook outputs cannot open Puter's sign-in window.")
    assert first.endswith(f"{sandbox.origin}/?action=copyauth")
    assert last.startswith(f"Signed in to {sandbox.origin} as learner (token from prompt)")
    assert account.frontend_of(ip) == "terminal"


@pytest.fixture
def colab(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A stand-in for google.colab.userdata (Colab's Secrets), as Colab's own module behaves."""
    secrets: dict[str, Any] = {}

    class SecretNotFoundError(Exception):
        pass

    class NotebookAccessError(Exception):
        pass

    def get(name: str) -> str:
        if secrets.get("deny"):
            raise NotebookAccessError(name)
        if name not in secrets:
            raise SecretNotFoundError(name)
        value: str = secrets[name]
        return value

    google = types.ModuleType("google")
    colab_module = types.ModuleType("google.colab")
    userdata = types.ModuleType("google.colab.userdata")
    userdata.get = get  # type: ignore[attr-defined]
    userdata.SecretNotFoundError = SecretNotFoundError  # type: ignore[attr-defined]
    userdata.NotebookAccessError = NotebookAccessError  # type: ignore[attr-defined]
    colab_module.userdata = userdata  # type: ignore[attr-defined]
    google.colab = colab_module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab_module)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)
    return secrets


def test_colab_secrets_are_read_like_the_environment(
    ip: InteractiveShell, sandbox: Sandbox, colab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    colab["PUTER_AUTH_TOKEN"] = f"  {sandbox.token}\n"
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    [line] = texts(outputs)
    assert line.startswith(f"Signed in to {sandbox.origin} as learner (token from Colab Secrets)")
    monkeypatch.setenv("PUTER_AUTH_TOKEN", sandbox.token)  # the environment comes first
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert "(token from $PUTER_AUTH_TOKEN)" in texts(outputs)[0]


@pytest.mark.parametrize("secret", ["missing", "denied", "empty"])
def test_no_colab_secret_goes_on_to_the_next_way(
    ip: InteractiveShell,
    sandbox: Sandbox,
    colab: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    secret: str,
) -> None:
    if secret == "denied":
        colab.update({"deny": True, "PUTER_AUTH_TOKEN": "never-read"})
    elif secret == "empty":
        colab["PUTER_AUTH_TOKEN"] = " "
    monkeypatch.setattr(account, "_can_prompt", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": sandbox.token)
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert "(token from prompt)" in texts(outputs)[-1]


def test_outside_colab_there_are_no_colab_secrets() -> None:
    from puter_magic.api.auth import token_from_colab_secrets

    assert "google.colab" not in sys.modules
    assert token_from_colab_secrets() is None


# -- signing out -----------------------------------------------------------------------------


def test_logout_says_where_the_token_can_really_be_revoked(
    ip: InteractiveShell, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUTER_AUTH_TOKEN", sandbox.token)
    run(ip, f"%puter_login --origin {sandbox.origin} --save")
    outputs, _ = run(ip, "%puter_logout")
    [said] = texts(outputs)
    assert said == (
        f"Signed out of {sandbox.origin}. This kernel forgot the token; it stays valid until you "
        f"revoke it at {sandbox.origin}: Settings → Security → sessions. Saved login forgotten."
    )
    assert magics_of(ip).session.client is None
    ip.run_line_magic("config", "PuterMagics.gui_origin = 'http://puter.localhost:4100'")
    run(ip, f"%puter_login --origin {sandbox.origin}")
    outputs, _ = run(ip, "%puter_logout --keep")
    assert "revoke it at http://puter.localhost:4100: Settings → Security → sessions." in texts(outputs)[0]
    assert texts(outputs)[0].endswith(" Saved login kept (--keep).")
    outputs, _ = run(ip, "%puter_logout")
    assert texts(outputs) == ["Not signed in. This kernel holds no Puter token."]


def test_the_buttons_javascript_ships_with_the_package() -> None:
    """The widget's JavaScript is a package file (no build step), listed as package data."""
    import tomllib

    from puter_magic.notebook import popup

    script = Path(popup.__file__).with_name("popup.js")
    assert str(SignInButton._esm) == script.read_text() and script.read_text().count("export default") == 1
    pyproject = tomllib.loads((Path(popup.__file__).parents[2] / "pyproject.toml").read_text())
    shipped = pyproject["tool"]["setuptools"]["package-data"]["puter_magic"]
    assert any(script.relative_to(Path(popup.__file__).parents[1]).match(glob) for glob in shipped)
    assert "anywidget" in " ".join(pyproject["project"]["dependencies"])


def test_a_guest_who_runs_out_is_told_how_to_keep_the_account(ip: InteractiveShell, page: Page) -> None:
    """Against the sandbox playing Puter's site: a guest made as the popup makes one, its token
    handed over by the button; then its small allowance runs out."""
    import requests

    with Sandbox(gui_host="puter.localhost") as puter:
        assert puter.gui is not None
        base = f"http://127.0.0.1:{puter.port}"
        gui_host, api_host = (o.split("//", 1)[1] for o in (puter.gui_origin, puter.origin))
        made = requests.post(
            base + "/signup", json={"is_temp": True}, headers={"Host": gui_host}, timeout=5
        ).json()
        minted = requests.post(
            base + "/auth/get-user-app-token",
            json={"origin": "http://localhost:8888"},
            headers={"Host": api_host, "Authorization": f"Bearer {made['token']}"},
            timeout=5,
        ).json()
        page.script = [RENDERED, {"kind": "token", "token": minted["token"]}]
        outputs, _ = run(ip, f"%puter_login --origin {puter.origin}")
        assert "temporary guest account" in texts(outputs)[0]
        outputs, _ = run(ip, "%puter -m sandbox-echo a call the guest can make")
        assert "a call the guest can make" in texts(outputs)[0]
        puter.metering.set_allowance(minted["token"], 0)  # the guest's small allowance is spent
        outputs, _ = run(ip, "%puter -m sandbox-echo and one more")
    [warning] = [o for o in outputs if "puter-warning" in o.get("text/html", "")]
    said = warning["text/plain"]
    assert "insufficient_funds" in said and "temporary guest account" in said
    assert f"sign up at {puter.gui_origin} in the browser you signed in with" in said
    assert minted["token"] not in json.dumps(outputs)


def test_a_login_that_cannot_be_saved_still_signs_in_and_says_so(
    ip: InteractiveShell, page: Page, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("PUTER_MAGIC_CONFIG_DIR", str(blocked / "config"))  # cannot be made: a read-only home
    page.script = [RENDERED, {"kind": "token", "token": sandbox.token}]
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin} --save")
    assert result.success, result.error_in_exec
    [line] = texts(outputs)
    assert line.startswith(f"Signed in to {sandbox.origin} as learner (token from Puter sign-in).")
    assert "Not saved for next time: could not write" in line and "Saved for next time" not in line
    assert magics_of(ip).session.username == "learner" and page.widget.state == "signed-in"
    monkeypatch.setenv("PUTER_AUTH_TOKEN", sandbox.token)  # the same in a terminal (no button)
    monkeypatch.setattr(account, "frontend_of", lambda shell: "terminal")
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin} --save")
    assert result.success and "Not saved for next time" in texts(outputs)[-1]
