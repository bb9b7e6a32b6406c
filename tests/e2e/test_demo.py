"""demo.ipynb, executed top to bottom in a real kernel with nbclient (no account, no network)."""

from __future__ import annotations

import json
import re
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from ..conftest import ROOT
from ..htmlcheck import live_markup

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    nb = nbformat.read(ROOT / "demo.ipynb", as_version=4)
    resources = {"metadata": {"path": str(tmp_path_factory.mktemp("demo"))}}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources=resources)
    client.execute()
    return nb


def outputs_of(nb: Any, needle: str) -> list[dict[str, Any]]:
    cell = next(c for c in nb.cells if c.cell_type == "code" and needle in c.source)
    return list(cell.outputs)


def data(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o["data"] for o in outputs if o["output_type"] in ("display_data", "execute_result")]


def test_committed_notebook_is_clean() -> None:
    raw = (ROOT / "demo.ipynb").read_text()
    nb = nbformat.reads(raw, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"sandbox-[A-Za-z0-9_-]{20,}", raw)


def test_demo_runs_clean(executed: Any) -> None:
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            if "raises-exception" in cell.metadata.get("tags", []):
                continue  # the deliberate error that %puter_explain explains
            assert out["output_type"] != "error", cell.source
            assert out.get("name") != "stderr" or "Warning" not in out.get("text", ""), out


def test_demo_has_no_token(executed: Any) -> None:
    text = json.dumps(executed)
    assert not re.search(r"sandbox-[A-Za-z0-9_-]{20,}", text)


def test_first_reply_renders_markdown(executed: Any) -> None:
    reply = data(outputs_of(executed, "What is a list comprehension"))[0]
    assert {"text/plain", "text/markdown", "text/html"} <= set(reply)
    assert "<h3>Turn 1" in reply["text/html"] and "<table>" in reply["text/html"]
    assert '<pre class="puter-code"' in reply["text/html"]
    assert live_markup(reply["text/html"]) == []


def test_follow_up_and_system_prompt(executed: Any) -> None:
    follow = data(outputs_of(executed, "keeps only the even numbers"))[0]
    assert "| your questions so far | 2 |" in follow["text/markdown"]
    system = data(outputs_of(executed, "patient teacher"))[0]
    assert "You are a patient teacher for 12-year-olds." in system["text/markdown"]


def test_interpolation_out_and_warning(executed: Any) -> None:
    explained = data(outputs_of(executed, "Explain {topic}"))[0]
    assert "Explain recursion to a beginner." in explained["text/markdown"]
    assert "\\frac{a}{b}" in explained["text/markdown"]
    upper = data(outputs_of(executed, "answer.upper()"))[0]
    assert upper["text/plain"] == "'THE CAPITAL OF FRANCE IS PARIS.'"
    warning = data(outputs_of(executed, "no-such-model"))
    assert len(warning) == 1 and "Model not found" in warning[0]["text/html"]
    assert "puter-warning" in warning[0]["text/html"]


def test_model_selector_and_stream(executed: Any) -> None:
    selector = data(outputs_of(executed, "%puter_models"))[0]
    assert "application/vnd.jupyter.widget-view+json" in selector
    assert "sandbox-tutor" in selector["text/plain"]
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(s["model_name"] == "ComboboxModel" for s in state.values())
    slow = data(outputs_of(executed, "sandbox-slow"))[0]
    assert "sandbox-slow" in slow["text/plain"]


def test_teaching_sections(executed: Any) -> None:
    compare = data(outputs_of(executed, "--compare"))[-1]
    assert compare["text/html"].count("puter-compare-column") == 3
    assert "Model not found" in compare["text/html"] and "kept sandbox-tutor's reply" in compare["text/plain"]
    recorded = data(outputs_of(executed, "%puter_record lesson.jsonl"))[0]
    assert "Recording to" in recorded["text/plain"]
    tuple_cells = [
        c for c in executed.cells if c.cell_type == "code" and c.source.endswith("What is a tuple?")
    ]
    first, replayed = (data(c.outputs)[0]["text/markdown"].split("<span")[0] for c in tuple_cells)
    assert first == replayed and "What is a tuple?" in first
    miss = data(outputs_of(executed, "A question nobody recorded"))[0]
    assert "Not in the recording" in miss["text/html"]
    raised = outputs_of(executed, "len(score)")
    assert raised[0]["output_type"] == "error" and raised[0]["ename"] == "NameError"
    explained = data(outputs_of(executed, "%puter_explain"))[0]
    assert "NameError" in explained["text/markdown"] and "explained: NameError" in explained["text/plain"]
    context = data(outputs_of(executed, "--context scores"))[0]
    assert "scores: list" in context["text/markdown"] and "scores: list" in context["text/plain"]
    usage = data(outputs_of(executed, "%puter_usage"))[0]
    assert "sandbox-tutor" in usage["text/plain"]


def test_line_form_question_is_asked(executed: Any) -> None:
    """`%puter ...?` asks Puter; IPython's help syntax used to answer "Object `question` not found"."""
    outputs = outputs_of(executed, "%puter What was my first question?")
    assert "not found" not in json.dumps(outputs)
    [reply] = data(outputs)
    assert "> What was my first question?" in reply["text/markdown"]
    assert "1. `What is a list comprehension in Python?`" in reply["text/markdown"]
    assert "sandbox-tutor · " in reply["text/plain"]


def test_tools_section_shows_the_calls_and_the_answer(executed: Any) -> None:
    [answer] = data(outputs_of(executed, "Please describe n=3, then find the warmest k=2."))
    html = answer["text/html"]
    assert "<summary>called <code>describe(n=3)</code> → 3 rows</summary>" in html
    assert (
        "<summary>called <code>warmest(k=2)</code> → [&quot;Rome&quot;, &quot;Lima&quot;]</summary>" in html
    )
    assert html.index("<details") < html.index('class="puter-reply"') and live_markup(html) == []
    assert '["Rome", "Lima"]' in answer["text/markdown"]  # the model answered with the results
    [one_by_one] = data(outputs_of(executed, "One at a time: warmest k=1"))
    assert one_by_one["text/plain"].startswith('called warmest(k=1) → ["Rome"]\ncalled describe(n=1) → 1 row')
    # whole (warmest), streamed (asks describe: Puter's stream may lose calls, so it is asked
    # again whole), whole (describe), streamed answer: see docs/tools.md
    assert "2 calls in 4 requests" in one_by_one["text/plain"]


def test_beyond_chat_section(executed: Any) -> None:
    """Images, speech and OCR run offline in the demo and read back what was sent."""
    import base64

    image, footer = data(outputs_of(executed, "%%puter_image --out picture"))
    assert base64.b64decode(image["image/png"]).startswith(b"\x89PNG")
    assert (
        image["text/plain"].startswith("image/png 512×512, ") and "saved to kite.png" in footer["text/plain"]
    )
    (read,) = data(outputs_of(executed, "%puter_ocr picture"))
    assert read["text/plain"].startswith("A red kite over a green hill\n\nread from picture")
    player, _ = data(outputs_of(executed, "%%puter_speak --out greeting"))
    assert player["text/html"].startswith("<audio controls") and player["text/plain"].startswith("audio/wav")
    (heard,) = data(outputs_of(executed, "%puter_transcribe greeting"))
    assert heard["text/plain"].startswith(
        "Hello! Pictures, speech and text all go through the same Puter API."
    )
    (seen,) = data(outputs_of(executed, "--image picture --image kite.png"))
    assert "I see 2 images" in seen["text/markdown"] and "512×512" in seen["text/markdown"]
    voices, _ = data(outputs_of(executed, "%puter_call puter-tts list_voices"))
    assert voices["application/json"][0]["id"] == "alto"


def test_many_prompts_at_once(executed: Any) -> None:
    """%%puter --each in a real kernel: the progress bar (a widget) ends as one summary."""
    outputs = outputs_of(executed, "%%puter --each words")
    assert [o["output_type"] for o in outputs] == ["display_data"]
    [summary] = data(outputs)
    assert "application/vnd.jupyter.widget-view+json" not in summary  # the bar became the summary
    assert "4 prompts to sandbox-tutor-lite: 4 answered" in summary["text/plain"]
    assert "puter-batch" in summary["text/html"] and live_markup(summary["text/html"]) == []
    [first] = data(outputs_of(executed, "meanings[0]"))
    assert "what is a loop in Python?" in first["text/plain"]


def test_demo_shows_the_sign_in_button_without_a_click(executed: Any) -> None:
    button, note = data(outputs_of(executed, "%puter_login --origin {puter_site.origin} --button --no-wait"))
    assert "application/vnd.jupyter.widget-view+json" in button
    assert "puter-note" in note["text/html"] and "a button here signs in" in note["text/plain"]
    assert button["text/plain"].startswith("Sign in with Puter")
    assert "http://puter.localhost:" in button["text/plain"]  # the sandbox's GUI, not puter.com


def test_allowance_and_voice_changer_sections(executed: Any) -> None:
    usage = data(outputs_of(executed, "%puter_usage"))
    allowance = next(o for o in usage if "puter-allowance" in o.get("text/html", ""))
    assert allowance["text/plain"].startswith("Puter account: $0.4")
    assert "of $0.50 left this month" in allowance["text/plain"]
    changed = data(outputs_of(executed, "%puter_voice greeting --voice bass"))
    player = '<audio controls preload="metadata" src="data:audio/wav;base64,'
    assert changed[0]["text/html"].startswith(player)
    assert "bass" in changed[1]["text/plain"]
    heard = data(outputs_of(executed, "%puter_transcribe deeper"))[0]
    assert "Hello! Pictures, speech and text all go through the same Puter API." in heard["text/plain"]
