"""puter_magic in a real JupyterLab, in headless Chromium: what a student actually sees.

Two notebooks. The committed demo.ipynb is copied byte for byte and run with Run All, as a
student would run it; nothing in it is changed, and everything it shows is checked there (the
replies, the warning, the selector, the image and the audio player, the folded tool calls).
What the demo cannot hold runs in a second notebook that this test writes, as a user writes
cells in a new notebook: a sign-in with no default model, typing in the model field, hostile
replies, a batch paced slowly enough to watch, and --approve (which asks for input, so the
demo, also run by nbconvert, cannot have it).
"""

from __future__ import annotations

import pathlib
import re
import shutil
import time
from typing import Any

import nbformat
import pytest

from ..conftest import ROOT
from .conftest import LAB_TOKEN

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "artifacts"
DEMO = ROOT / "demo.ipynb"

# The second notebook: the test's own cells. It signs in to a sandbox the way a self-hosting
# user signs in to their server (no default model), so the automatic choice shows too.
START = (
    "import os\nfrom puter_magic.sandbox import Sandbox\n"
    "box = Sandbox(pace=0.015).start()\nos.environ['MY_PUTER_TOKEN'] = box.token"
)
LOGIN = "%puter_login --origin {box.origin} --token-env MY_PUTER_TOKEN"
PICKED = "%%puter\nWhich model answers now?"
RECORD = "print('MODEL-USED:', box.calls('complete')[-1].args['model'])"
SLOW = "%%puter -m sandbox-slow --no-history\nStream this slowly, please."
PAYLOADS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "[click me](javascript:window.__pwned='link')",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
    "<iframe srcdoc=\"<script>parent.__pwned = 'iframe'</script>\"></iframe>",
    "$<img src=x onerror=\"window.__pwned = 'math'\">$",
    "<details open ontoggle=\"window.__pwned = 'details'\">x</details>",
]
XSS = "%%puter -m sandbox-echo --no-interpolate --no-history\n" + "\n\n".join(PAYLOADS)
BATCH = (
    "%config PuterMagics.batch_rate = 4\n%config PuterMagics.batch_window = 1.0\n"
    "_items = [f'item {i}' for i in range(14)]"
)
EACH = "%%puter --each _items --out _replies -m sandbox-echo --fresh\nEcho {item}"
TABLE = (
    'ROWS = [{"city": "Paris", "temp": 18}, {"city": "Oslo", "temp": 7}, {"city": "Rome", "temp": 24}]\n\n'
    "def describe(n: int = 5) -> list:\n"
    '    """The first n rows of the table."""\n'
    "    return ROWS[:n]"
)
APPROVE = "%%puter -m sandbox-agent --tools describe --approve --no-history\nNow describe n=3"
CHECKS = [
    "%load_ext puter_magic",
    START,
    LOGIN,
    "%puter_models",
    PICKED,
    RECORD,
    SLOW,
    XSS,
    BATCH,
    EACH,
    TABLE,
    APPROVE,
]


@pytest.fixture(scope="module")
def demo(lab: str, lab_root: pathlib.Path) -> str:
    target = lab_root / "root" / "demo.ipynb"
    shutil.copyfile(DEMO, target)
    assert target.read_bytes() == DEMO.read_bytes()
    return f"{lab}/lab/tree/demo.ipynb?reset&token={LAB_TOKEN}"


@pytest.fixture(scope="module")
def checks(lab: str, lab_root: pathlib.Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CHECKS]
    nbformat.write(nb, lab_root / "root" / "checks.ipynb")
    return f"{lab}/lab/tree/checks.ipynb?reset&token={LAB_TOKEN}"


def _panel(page: Any) -> Any:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def _cell(page: Any, needle: str) -> Any:
    return (
        _panel(page)
        .locator(".jp-CodeCell")
        .filter(has=page.locator(".jp-InputArea", has_text=needle.splitlines()[-1][:30]))
        .first
    )


def _run_cell(page: Any, cell: Any) -> None:
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")


def _open_and_run_all(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    page.goto(url)
    expect(_panel(page).locator(".jp-Cell").first).to_be_visible(timeout=90_000)
    # A connected kernel: the toolbar says "idle" before the kernel exists (Run All then does nothing).
    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _wait_or_explain(page: Any, locator: Any, what: str, shot: str) -> None:
    from playwright.sync_api import expect

    try:
        expect(locator).to_be_visible(timeout=150_000)
    except AssertionError:
        _shot(page, shot)
        prompts = _panel(page).locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        raise AssertionError(
            f"{what}; prompts: {prompts}; stderr: " + " | ".join(errors.all_inner_texts())[:2000]
        ) from None


def test_committed_demo_runs_to_the_end_with_run_all(page: Any, demo: str) -> None:
    from playwright.sync_api import expect

    committed = nbformat.read(DEMO, as_version=4)
    code = [c for c in committed.cells if c.cell_type == "code"]
    _open_and_run_all(page, demo)

    panel = _panel(page)
    cells = panel.locator(".jp-CodeCell")
    expect(cells).to_have_count(len(code))
    # The last cell, %puter_usage, shows the usage table only once every cell before it ran.
    last = cells.nth(len(code) - 1)
    assert "%puter_usage" in last.locator(".jp-InputArea").inner_text()
    table = last.locator(".jp-OutputArea table.puter-usage")
    _wait_or_explain(page, table, "the last cell shows no usage table", "demo-failed.png")
    # Each code cell ran once, in order: its prompt says [n]. JupyterLab renders only the cells
    # near the viewport, so scroll to each, as a reader would.
    for i, source in enumerate(c.source for c in code):
        cell = cells.nth(i)
        cell.scroll_into_view_if_needed()
        try:
            expect(cell.locator(".jp-InputPrompt")).to_have_text(f"[{i + 1}]:", timeout=10_000)
        except AssertionError:
            _shot(page, "demo-failed.png")
            raise AssertionError(f"code cell {i + 1} ({source[:40]!r}) did not run as [{i + 1}]") from None
    expect(last.locator(".jp-OutputArea")).to_contain_text("In all:")
    expect(last.locator(".jp-OutputArea")).to_contain_text("sandbox-tutor")

    # The deliberate error ran and showed its error; Run All went on past it.
    tagged = [i for i, c in enumerate(code) if "raises-exception" in c.metadata.get("tags", [])]
    assert tagged, "the demo's deliberate-error cell is gone"
    expect(cells.nth(tagged[0]).locator(".jp-OutputArea")).to_contain_text("NameError")
    expect(_cell(page, "%puter_explain").locator(".jp-OutputArea")).to_contain_text("explained: NameError")
    # The line-form question ran (what it shows is another issue's business).
    asked = _cell(page, "%puter What was my first question?")
    expect(asked.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"))

    # The first reply rendered as Markdown: a heading, a table, a code block.
    first = _cell(page, "What is a list comprehension in Python?").locator(".jp-OutputArea")
    expect(first.locator("h3")).to_contain_text("Turn 1")
    expect(first.locator("table")).to_be_visible()
    expect(first.locator("pre code")).to_contain_text("questions = 1")
    expect(first.locator(".puter-footer").first).to_contain_text("sandbox-tutor")

    # The warning box is visible and styled (a coloured left border), with its next step.
    warning = _cell(page, "Hello?").locator(".puter-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Model not found")
    expect(warning.locator("code")).to_contain_text("%puter_models")
    border = warning.evaluate(
        "el => getComputedStyle(el).borderLeftWidth + ' ' + getComputedStyle(el).borderLeftStyle"
    )
    assert border == "4px solid"

    # The model selector rendered and says what the default is.
    selector = _cell(page, "%puter_models").locator(".puter-model-selector")
    expect(selector).to_contain_text("Default model: sandbox-tutor")

    # Beyond chat: the generated image is visible (decoded, never wider than the cell) and the
    # spoken sentence is an audio player Chromium can read.
    image_cell = _cell(page, "%%puter_image --out picture")
    image_cell.scroll_into_view_if_needed()
    image = image_cell.locator(".jp-RenderedImage img")
    expect(image).to_be_visible()
    natural, shown, width = image.evaluate(
        "img => [img.naturalWidth, img.getBoundingClientRect().width,"
        " img.closest('.jp-OutputArea').getBoundingClientRect().width]"
    )
    assert natural == 512 and 0 < shown <= min(natural, width), (natural, shown, width)
    expect(image_cell.locator(".puter-footer").first).to_contain_text("image/png 512×512")
    speak_cell = _cell(page, "%%puter_speak --out greeting")
    speak_cell.scroll_into_view_if_needed()
    audio = speak_cell.locator("audio[controls]")
    expect(audio).to_have_count(1)
    expect(audio).to_be_visible()
    duration = audio.evaluate(
        "a => a.readyState >= 1 ? a.duration : new Promise(done => {"
        " a.addEventListener('loadedmetadata', () => done(a.duration)); a.load(); })"
    )
    assert duration > 0.5  # Chromium decoded the WAV the sandbox spoke
    seen = _cell(page, "What do you see in these pictures?").locator(".jp-OutputArea")
    expect(seen).to_contain_text("I see 2 images")
    image_cell.scroll_into_view_if_needed()
    _shot(page, "jupyterlab-media.png")

    # Tools: each call is one folded line above the answer, which opens to the arguments and
    # what was sent back.
    tools_cell = _cell(page, "Please describe n=3, then find the warmest k=2.")
    tools_cell.scroll_into_view_if_needed()
    out = tools_cell.locator(".jp-OutputArea")
    lines = out.locator("details.puter-tool-call")
    expect(lines).to_have_count(2)
    line = lines.first
    expect(line.locator("summary")).to_have_text("called describe(n=3) → 3 rows")
    assert line.evaluate("e => e.open") is False
    sent = line.get_by_text("Sent back to the model")
    expect(sent).to_be_hidden()
    reply_top = out.locator(".puter-reply").evaluate("e => e.getBoundingClientRect().top")
    assert lines.last.evaluate("e => e.getBoundingClientRect().bottom") <= reply_top
    assert line.evaluate("e => e.getBoundingClientRect().height") < 40
    line.locator("summary").click()
    assert line.evaluate("e => e.open") is True
    expect(sent).to_be_visible()
    expect(line.locator("pre").first).to_contain_text('"n": 3')
    expect(line.locator("pre").nth(1)).to_contain_text('"city": "Oslo"')
    tools_cell.screenshot(path=str(SHOTS / "jupyterlab-tools.png"))
    _shot(page, "jupyterlab-demo.png")
    assert re.search(r"sandbox-[A-Za-z0-9_-]{20,}", page.content()) is None  # no token on the page


def test_typing_in_the_model_field_and_streaming_and_hostile_replies(page: Any, checks: str) -> None:
    from playwright.sync_api import expect

    _open_and_run_all(page, checks)
    # --approve, the last cell: the call waits on its line while JupyterLab's input box asks
    # (the kernel waits with it, so this is answered first); "y" runs it.
    asking = _cell(page, APPROVE)
    asking.scroll_into_view_if_needed()
    box = asking.locator(".jp-Stdin-input")
    expect(box).to_be_visible(timeout=60_000)
    expect(asking.locator(".jp-OutputArea")).to_contain_text("Run describe(n=3)? [y/N]")
    expect(asking.locator(".puter-tool-call")).to_have_text(
        "asks to call describe(n=3) (approve or refuse below)"
    )
    asking.screenshot(path=str(SHOTS / "jupyterlab-tools-approve.png"))
    box.fill("y")
    box.press("Enter")
    expect(asking.locator("details.puter-tool-call summary")).to_have_text("called describe(n=3) → 3 rows")
    expect(asking.locator(".puter-reply")).to_contain_text('"Rome"')

    xss_cell = _cell(page, XSS)
    xss_footer = xss_cell.locator(".puter-footer").first
    _wait_or_explain(page, xss_footer, "Run All did not finish", "checks-failed.png")

    # Nothing from the hostile reply ran.
    assert page.evaluate("() => window.__pwned === undefined"), page.evaluate("() => window.__pwned")
    xss_out = xss_cell.locator(".jp-OutputArea")
    live = xss_out.locator(".puter-reply").locator("script, iframe, svg:not(mjx-container svg)")
    assert live.count() == 0, [live.nth(i).evaluate("e => e.outerHTML") for i in range(live.count())]
    expect(xss_out).to_contain_text("window.__pwned = 'script'")  # shown as text instead

    # No model chosen: the row and the reply's footer name the one the server lists first.
    selector = _cell(page, "%puter_models").locator(".puter-model-selector")
    expect(selector).to_contain_text("Default model: sandbox-tutor (automatic: the first the server lists")
    picked, record = _cell(page, PICKED), _cell(page, RECORD)
    expect(picked.locator(".jp-OutputArea")).to_contain_text(
        "no model chosen: using sandbox-tutor, the first the server lists; %puter_models to pick"
    )
    expect(record.locator(".jp-OutputArea")).to_have_text(re.compile(r"MODEL-USED: sandbox-tutor\s*$"))
    _shot(page, "jupyterlab-selector-automatic.png")

    # Typing in the Model field, as a user does: an exact id, then Enter.
    field = selector.locator("input")
    field.click()
    field.press_sequentially("sandbox-tutor-lite", delay=20)
    field.press("Enter")
    expect(selector).to_contain_text("Default model is now sandbox-tutor-lite")
    _run_cell(page, picked)
    expect(picked.locator(".puter-footer").first).to_contain_text("sandbox-tutor-lite")
    _run_cell(page, record)
    expect(record.locator(".jp-OutputArea")).to_contain_text("MODEL-USED: sandbox-tutor-lite")

    # A part that names more than one model says so and changes nothing.
    field.click()
    field.press("Control+A")
    field.press_sequentially("sandbox-t", delay=20)
    field.press("Enter")
    expect(selector).to_contain_text("matches 3 models")
    expect(selector).to_contain_text("Default model: sandbox-tutor-lite")
    _shot(page, "jupyterlab-selector-ambiguous.png")

    # An unambiguous part of an id picks that model; the field then shows the whole id.
    field.press("Control+A")
    field.press_sequentially("ech", delay=20)
    field.press("Enter")
    expect(selector).to_contain_text("Default model is now sandbox-echo")
    expect(field).to_have_value("sandbox-echo")
    _run_cell(page, picked)
    expect(picked.locator(".puter-footer").first).to_contain_text("sandbox-echo")
    _run_cell(page, record)
    expect(record.locator(".jp-OutputArea")).to_contain_text("MODEL-USED: sandbox-echo")
    _shot(page, "jupyterlab-selector-typed.png")
    # Prices are text, not formulas (JupyterLab typesets HTML outputs and widgets with MathJax).
    table = _cell(page, "%puter_models").locator(".puter-model-table")
    expect(table).to_contain_text("in $0.30 / out $1.20 per 1M tokens")
    expect(selector).to_contain_text("Default model is now sandbox-echo")
    field.press("Control+A")
    field.press_sequentially("sandbox-tutor-lite", delay=20)
    field.press("Enter")
    expect(selector).to_contain_text("in $0.05 / out $0.20 per 1M tokens")
    page.wait_for_timeout(1000)  # MathJax typesets shortly after an output appears
    assert table.locator("mjx-container").count() == 0 and selector.locator("mjx-container").count() == 0
    field.press("Control+A")
    field.press_sequentially("sandbox-echo", delay=20)
    field.press("Enter")
    expect(selector).to_contain_text("Default model is now sandbox-echo")

    # Streamed text is visible before the reply completes.
    slow = _cell(page, SLOW)
    _run_cell(page, slow)
    out = slow.locator(".jp-OutputArea")
    deadline = time.monotonic() + 30
    seen_partial = False
    while time.monotonic() < deadline:
        text = out.inner_text()
        if "Turn" in text and out.locator(".puter-footer").count() == 0:
            seen_partial = True
            break
        time.sleep(0.05)
    assert seen_partial, "no partial text was shown before the reply completed"
    expect(out.locator(".puter-footer").first).to_contain_text("sandbox-slow")
    expect(out.locator("table")).to_be_visible()

    # --each: a live progress bar (an ipywidget) while the batch runs, then the summary.
    each = _cell(page, EACH)
    expect(each.locator(".puter-batch")).to_be_visible()  # Run All ran it once
    _run_cell(page, _cell(page, BATCH))
    _run_cell(page, each)
    bar = each.locator(".widget-hprogress")
    expect(bar).to_be_visible(timeout=10_000)
    expect(each.locator(".jp-OutputArea")).to_contain_text("/14 done")
    each.screenshot(path=str(SHOTS / "jupyterlab-batch-progress.png"))
    summary = each.locator(".puter-batch")
    expect(summary).to_contain_text("14 prompts to sandbox-echo: 14 answered", timeout=20_000)
    assert bar.count() == 0
    each.screenshot(path=str(SHOTS / "jupyterlab-batch-summary.png"))

    _shot(page, "jupyterlab-checks.png")
    assert re.search(r"sandbox-[A-Za-z0-9_-]{20,}", page.content()) is None  # no token on the page


# -- the look of code, in both themes and in the HTML export (issue 17, item 6) -------------

LONG_CODE = "```python\nvalue = '" + "word " * 60 + "'\n```"
LOOK = [
    "%load_ext puter_magic",
    "%puter_login --sandbox",
    "%%puter -m sandbox-tutor --no-history\nShow me some code",
    "%%puter -m sandbox-echo --no-history --no-interpolate\n" + LONG_CODE,
    "%%puter --compare sandbox-slow,sandbox-echo --no-history --no-interpolate\n### Side by side\n\n"
    + LONG_CODE,
]

# WCAG contrast of every highlighted piece of a code box against the box's own background.
CONTRASTS = """pre => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = c.map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const bg = rgb(getComputedStyle(pre).backgroundColor);
  const pieces = [pre.querySelector('code'), ...pre.querySelectorAll('span')];
  return pieces.map(e => [e.textContent.slice(0, 20), ratio(rgb(getComputedStyle(e).color), bg)]);
}"""


def _code_box_checks(page: Any, scope: Any, where: str) -> None:
    box = scope.locator("pre.puter-code").first
    box.scroll_into_view_if_needed()
    style = box.evaluate(
        "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.paddingTop, s.paddingLeft,"
        " s.marginTop, s.marginBottom, s.borderTopLeftRadius]; }"
    )
    background, pad_top, pad_left, margin_top, margin_bottom, radius = style
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), (where, style)
    assert (pad_top, pad_left, margin_top, margin_bottom) == ("8px", "12px", "8px", "8px"), (where, style)
    assert radius == "6px", (where, style)
    contrasts = box.evaluate(CONTRASTS)
    assert len(contrasts) > 3, (where, contrasts)  # highlighted: spans of colour
    assert contrasts[0][1] >= 7, (where, contrasts[0])  # the code's own text (WCAG AAA)
    # Every highlighting colour at least 3:1 on the box (JupyterLab's own editor palette is
    # what the themes give: its comments are 4.2:1 in the light theme, 3.5:1 in the dark one;
    # Pygments' light palette on the dark theme, what replies had before, went down to 2:1).
    worst = min(contrasts, key=lambda c: c[1])
    assert worst[1] >= 3, (where, worst, contrasts)


@pytest.fixture(scope="module")
def look(lab: str, lab_root: pathlib.Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in LOOK]
    nbformat.write(nb, lab_root / "root" / "look.ipynb")
    return f"{lab}/lab/tree/look.ipynb?reset&token={LAB_TOKEN}"


def test_code_in_a_box_that_reads_in_both_themes_and_the_export(
    page: Any, look: str, lab_root: pathlib.Path
) -> None:
    from nbconvert import HTMLExporter
    from playwright.sync_api import expect

    _open_and_run_all(page, look)
    cells = _panel(page).locator(".jp-CodeCell")
    compare = cells.nth(len(LOOK) - 1)
    # The columns render Markdown while they stream: a heading before the slow column ends.
    column = compare.locator(".puter-compare-column").first
    # The reply's own heading is rendered (the "### Side by side" it quotes inside a code block
    # is the question's text, and shows as written once the stream reaches it).
    expect(column.locator("h3").first).to_contain_text("Turn 1", timeout=120_000)
    assert column.locator(".puter-footer").count() == 0, "the column had finished: not seen streaming"
    assert "### Turn" not in column.inner_text()
    compare.screenshot(path=str(SHOTS / "jupyterlab-compare-streaming.png"))
    expect(compare.locator(".puter-compare-column .puter-footer")).to_have_count(2, timeout=120_000)

    reply = cells.nth(2).locator(".jp-OutputArea")
    _code_box_checks(page, reply, "light theme")
    reply.screenshot(path=str(SHOTS / "jupyterlab-code-light.png"))
    # A long line scrolls inside its box (in a reply and in a column) instead of wrapping.
    for scope in (
        cells.nth(3).locator(".jp-OutputArea"),
        compare.locator(".puter-compare-column").last,
    ):
        pre = scope.locator("pre.puter-code").first
        scrolls, height, line = pre.evaluate(
            "e => [e.scrollWidth > e.clientWidth, e.clientHeight, parseFloat(getComputedStyle(e).lineHeight)]"
        )
        assert scrolls and height < 3 * line + 16, (scrolls, height, line)
    compare.screenshot(path=str(SHOTS / "jupyterlab-compare.png"))

    page.get_by_role("menuitem", name="Settings", exact=True).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Dark$")).click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    page.wait_for_timeout(500)  # the theme's stylesheet applied
    _code_box_checks(page, reply, "dark theme")
    reply.screenshot(path=str(SHOTS / "jupyterlab-code-dark.png"))
    page.get_by_role("menuitem", name="Settings", exact=True).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Light$")).click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true")

    # The HTML export of the notebook as it was saved, opened as a file.
    page.keyboard.press("Control+s")
    saved = lab_root / "root" / "look.ipynb"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "puter-code" not in saved.read_text():
        time.sleep(0.2)
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(saved, as_version=4))
    exported = lab_root / "look.html"
    exported.write_text(body)
    # The export loads MathJax and the widget manager from a CDN: no network in tests.
    page.route(
        re.compile(r"^https?://"),
        lambda route: route.abort() if "127.0.0.1" not in route.request.url else route.continue_(),
    )
    page.goto(exported.as_uri())
    _code_box_checks(page, page.locator("body"), "HTML export")
    page.locator("pre.puter-code").first.screenshot(path=str(SHOTS / "export-code.png"))
