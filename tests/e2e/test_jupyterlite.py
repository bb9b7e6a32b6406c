"""puter-magic in JupyterLite, in Chromium: Python in the page (Pyodide), no server but the
static site, built from this checkout's wheel (see tests/e2e/lite.py for how the test site is
made and how it differs from a real one: a strict nh3 stand-in).

- the sandbox answering inside the page: a question streamed and rendered, --compare and
  --each one at a time, a tool, a picture and its text, a hostile reply made harmless;
- a token pasted at the prompt, against a fake Puter on loopback that answers the page with
  CORS: a reply seen streaming in, --compare, --each and a media URL fetched without the token;
- the Sign in with Puter button: one click in the page (popup blocker on), a guest account
  from the sandbox playing Puter's GUI, and the next cell asks with it;
- the site's own demo, end to end.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from puter_magic.sandbox import Sandbox

from .lite import FakePuter, build_site, fake_puter, notebook, run_all, screenshot, serve  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]

INSTALL = "%pip install -q puter-magic"
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"> **bold** <script>document.title='pwned'</script>"
WATCH_STREAMING = """
window.__partials = [];
new MutationObserver(() => {
  for (const el of document.querySelectorAll('.jp-OutputArea-output')) {
    const text = el.innerText;
    if (text.includes('Sandbox Slow') && text.includes('\u258d')) window.__partials.push(text.length);
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def sandbox_notebook() -> Any:
    return notebook(
        INSTALL,
        "import sys, threading, nh3\n"
        "print(sys.platform, getattr(nh3, 'STAND_IN', False), threading.active_count())",
        "%load_ext puter_magic",
        "%puter_login --sandbox",
        "%%puter\nWhat is a list comprehension?",
        "%%puter --compare sandbox-tutor,sandbox-tutor-lite,no-such-model --keep sandbox-tutor\n"
        "What is a dictionary?",
        'words = ["loop", "function", "recursion"]',
        "%%puter --each words --out meanings -m sandbox-echo\nWhat is a {item}?",
        "print(meanings)",
        "def describe(n: int = 5) -> list:\n    'The first n numbers.'\n    return list(range(n))",
        "%%puter -m sandbox-agent --tools describe\nPlease describe n=2",
        "%%puter_image --out picture -m sandbox-image-url\nA red kite over a green hill",
        "%puter_ocr picture",
        f"%%puter -m sandbox-echo --no-history\n{HOSTILE}",
        "%puter_login --browser",
        "session = get_ipython().magics_manager.registry['PuterMagics'].session\n"
        "print(session.sandbox.running, session.sandbox.calls('complete')[0].args.get('stream'), "
        "threading.active_count())",
    )


def fake_puter_notebook(origin: str) -> Any:
    return notebook(
        INSTALL,
        "%load_ext puter_magic",
        f"%puter_login --origin {origin} --prompt",
        "%%puter -m sandbox-slow --no-history\nTell me about streaming.",
        "%%puter --compare sandbox-tutor,sandbox-tutor-lite\nWhat is a set?",
        'words = ["loop", "set"]\n',
        "%%puter --each words --out meanings -m sandbox-echo\nDefine {item}.",
        "print(meanings)",
        "%%puter_image --out kite -m sandbox-image-url\nA kite",
        "print(len(kite.data), kite.data[:4])",
    )


def button_notebook(origin: str) -> Any:
    return notebook(
        INSTALL,
        "%load_ext puter_magic",
        f"%puter_login --origin {origin}",
        "%puter -m sandbox-echo asked after the click",
    )


@pytest.fixture(scope="session")
def lite_site(
    fake_puter: FakePuter,  # noqa: F811
    puter: Sandbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> pathlib.Path:
    """One site for the run, built (offline) from this checkout's wheel."""
    out = tmp_path_factory.mktemp("lite") / "site"
    notebooks = {
        "sandbox.ipynb": sandbox_notebook(),
        "fake_puter.ipynb": fake_puter_notebook(fake_puter.origin),
        "button.ipynb": button_notebook(puter.origin),
    }
    return build_site(out, notebooks)


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def test_the_sandbox_answers_inside_the_page(lite_site: pathlib.Path, serve: Any, page: Any) -> None:  # noqa: F811
    base = serve(lite_site)
    cells = run_all(page, base, "sandbox.ipynb")
    shot = screenshot(page, "jupyterlite-sandbox.png")
    assert cells[1].text.strip() == "emscripten True 1", cells[1].text  # Pyodide, the stand-in, no thread
    assert cells[3].text.startswith("Signed in to the sandbox in this page as learner"), cells[3].text
    reply = cells[4]
    assert "Turn 1 · Sandbox Tutor</h3>" in reply.html and "<table>" in reply.html, reply.html[:500]
    assert "sandbox-tutor ·" in reply.text and "tokens" in reply.text  # the footer
    compare = cells[5]
    assert compare.html.count('class="puter-compare-column"') == 3
    assert "sandbox-tutor-lite" in compare.text and "Model not found" in compare.text
    assert "kept sandbox-tutor's reply in the conversation" in compare.text
    assert "3 prompts to sandbox-echo: 3 answered" in cells[7].text, cells[7].text
    assert "['What is a loop?', 'What is a function?', 'What is a recursion?']" in cells[8].text
    assert "called describe(n=2)" in cells[10].text
    assert "image/png 512×512" in cells[11].text and "<img" in cells[11].html
    assert "A red kite over a green hill" in cells[12].text
    hostile = cells[13]
    assert "<strong>bold</strong>" in hostile.html and "&lt;img src=x onerror=" in hostile.html  # as text
    assert "<img src=" not in hostile.html and "<script" not in hostile.html and page.title() != "pwned"
    assert "Sign in with Puter button" in cells[14].text
    assert cells[15].text.strip() == "False True 1", cells[15].text  # in-process, streamed, no thread
    assert shot.exists()


def test_a_token_at_the_prompt_against_a_fake_puter(
    lite_site: pathlib.Path,
    serve: Any,  # noqa: F811
    page: Any,
    fake_puter: FakePuter,  # noqa: F811
) -> None:
    sandbox = fake_puter.sandbox
    sandbox.clear()
    base = serve(lite_site)
    page.add_init_script(WATCH_STREAMING)
    cells = run_all(page, base, "fake_puter.ipynb", answer=sandbox.token)
    screenshot(page, "jupyterlite-token.png")
    assert f"Signed in to {fake_puter.origin} as learner (token from prompt)" in cells[2].text, cells[2].text
    streamed = cells[3]
    assert "Sandbox Slow Tutor" in streamed.html and "Tell me about streaming." in streamed.text
    partials = page.evaluate("window.__partials")
    assert len(set(partials)) >= 3, partials  # the reply was seen growing, not only whole
    assert (
        cells[4].html.count('class="puter-compare-column"') == 2 and "sandbox-tutor-lite ·" in cells[4].text
    )
    assert "['Define loop.', 'Define set.']" in cells[7].text
    (picture,) = sandbox.generated.values()
    assert cells[9].text.strip() == f"{len(picture)} {picture[:4]!r}"  # the bytes the fake served
    calls = sandbox.calls("complete")
    assert len(calls) == 1 + 2 + 2 and all(c.token == sandbox.token for c in calls)
    assert calls[0].args["stream"] is True
    fetched = [r for r in sandbox.requests if r.path.startswith("/puter-generated/")]
    assert len(fetched) == 1 and fetched[0].token is None  # the media URL: fetched without the token
    assert sandbox.token not in page.content()


def test_the_sites_demo_runs_in_the_page(lite_site: pathlib.Path, serve: Any, page: Any) -> None:  # noqa: F811
    """The demo as the site serves it, with no account and no network: every cell runs (the
    deliberate error stops Run All once, as the notebook tells its reader) and shows what it
    shows elsewhere."""
    base = serve(lite_site)
    cells = run_all(page, base, "demo.ipynb", resumes=1, timeout=420)
    screenshot(page, "jupyterlite-demo.png")
    text = "\n".join(c.text for c in cells)
    assert "Signed in to the sandbox in this page as learner" in text
    assert "Turn 1 · Sandbox Tutor" in text and "Sandbox Slow Tutor" in text
    assert "Model not found" in text and "Replaying 1 recorded exchange" in text
    assert "explained: NameError" in text
    assert "image/png 512×512" in text and "A red kite over a green hill" in text
    assert "called describe(n=3)" in text and "4 prompts to sandbox-tutor-lite: 4 answered" in text
    assert sum('class="puter-signin-button' in c.html for c in cells) == 1  # Puter's own, not clicked
    assert "left this month" in text  # %puter_usage ran last, with the in-page sandbox's allowance
    errors = [c.text for c in cells if "Traceback (most recent call last)" in c.text]
    assert len(errors) == 1 and "NameError: name 'score' is not defined" in errors[0]


def test_the_sign_in_button_in_the_page(
    lite_site: pathlib.Path,
    serve: Any,  # noqa: F811
    page: Any,
    puter: Sandbox,
) -> None:
    """One click: the popup (Puter's GUI, played by the sandbox) makes a guest account and hands
    the page a token; the kernel in the page checks it and the next cell asks with it. The page's
    kernel cannot hold a cell until the click, so the cell says to run the cells below after."""
    from playwright.sync_api import expect

    puter.gui.reset_switches()
    base = serve(lite_site)
    cells = run_all(page, base, "button.ipynb")
    assert "Click “Sign in with Puter” above." in cells[2].text, cells[2].text
    assert "%puter_login --prompt" in cells[2].text  # the other way in, named
    assert "Not signed in" in cells[3].text  # Run All went on before the click
    login = page.locator(".jp-CodeCell").nth(2)
    button = login.locator(".puter-signin-button")
    expect(button).to_have_text("Sign in with Puter", timeout=30_000)
    before = {name for name, account in puter.gui.accounts.items() if account.is_temp}
    with page.expect_popup() as opened:
        button.click()
    popup = opened.value
    popup.wait_for_event("close", timeout=30_000)  # it signed a guest in and closed itself
    [guest] = {name for name, account in puter.gui.accounts.items() if account.is_temp} - before
    output = login.locator(".jp-OutputArea")
    expect(output).to_contain_text(f"Signed in to {puter.origin} as {guest}", timeout=30_000)
    expect(output).to_contain_text("temporary guest account")
    record = puter.gui.popups[-1]
    assert record.opener_origin == base + "/"  # the page's origin is the static site's
    asked = page.locator(".jp-CodeCell").nth(3)
    asked.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    expect(asked.locator(".jp-OutputArea")).to_contain_text("asked after the click", timeout=30_000)
    screenshot(page, "jupyterlite-button.png")
    tokens = {r.token for r in puter.requests if r.token}
    assert tokens and not any(token in page.content() for token in tokens)
