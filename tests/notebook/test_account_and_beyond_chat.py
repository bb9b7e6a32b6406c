"""The new cells in a real IPython shell, against the sandbox: the allowance in %puter_usage
and in warnings, --effort/--verbosity/--web, %puter_voice, %%puter_video, the voices list,
and --each over a glob of files."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.api.media_results import AudioResult, VideoResult
from puter_magic.notebook.each import FileReplies
from puter_magic.sandbox import Fault, Sandbox
from puter_magic.sandbox.pixels import picture

from ..shell import magics_of, run


def ok(ip: InteractiveShell, source: str) -> list[dict[str, Any]]:
    outputs, result = run(ip, source)
    assert result.success, result.error_in_exec or result.error_before_exec
    return outputs


def warnings_in(outputs: list[dict[str, Any]]) -> list[str]:
    return [o["text/plain"] for o in outputs if "puter-warning" in o.get("text/html", "")]


def text(outputs: list[dict[str, Any]]) -> str:
    return "\n".join(o.get("text/plain", o.get("stdout", "")) for o in outputs)


@pytest.fixture
def own(ip: InteractiveShell) -> Iterator[tuple[InteractiveShell, Sandbox]]:
    """A shell signed in to a sandbox of its own, whose allowance the test may run down."""
    with Sandbox() as sandbox:
        os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
        ok(ip, f"%puter_login --origin {sandbox.origin}")
        magics_of(ip).default_model = "sandbox-tutor"
        yield ip, sandbox


def test_puter_usage_shows_the_accounts_allowance(own: tuple[InteractiveShell, Sandbox]) -> None:
    ip, sandbox = own
    ok(ip, "%%puter\nhello")
    shown = text(ok(ip, "%puter_usage"))
    assert "sandbox-tutor" in shown  # the notebook's meter, as before
    assert re.search(r"Puter account: \$0\.4\d+ of \$0\.50 left this month \(\$0\.000\d used\)\.", shown)
    (view,) = [o for o in ok(ip, "%puter_usage") if "puter-allowance" in o.get("text/html", "")]
    assert "of $0.50 left this month" in view["text/html"]
    # Dollars are text: JupyterLab's MathJax would read "$0.48 of $0.50" as a formula.
    assert 'class="puter-allowance mathjax_ignore tex2jax_ignore"' in view["text/html"]
    reads = sum(1 for r in sandbox.requests if r.path == "/metering/usage")
    assert reads == 1  # read at most once a minute


def test_a_popup_token_is_said_to_see_only_this_apps_usage(ip: InteractiveShell) -> None:
    with Sandbox(guest=True) as sandbox:
        sandbox.add_token("popup-token", app_uid="app-42")
        os.environ["PUTER_AUTH_TOKEN"] = "popup-token"
        ok(ip, f"%puter_login --origin {sandbox.origin}")
        shown = text(ok(ip, "%puter_usage"))
    assert "$0.25 of $0.25 left this month" in shown  # a guest's allowance
    assert "sees only this app's usage" in shown


def test_running_out_is_one_warning_naming_what_is_left_and_where_to_add_credit(
    own: tuple[InteractiveShell, Sandbox],
) -> None:
    ip, sandbox = own
    ok(ip, "%%puter\nhello")
    spent = sandbox.metering.account(sandbox.token).total  # type: ignore[union-attr]
    sandbox.metering.set_allowance(sandbox.token, spent)  # nothing left
    outputs = ok(ip, "%%puter\nhello again")
    (warning,) = warnings_in(outputs)
    assert "Puter: out of allowance (insufficient_funds, HTTP 402)" in warning
    assert "Next: Puter says $0.00 of $0.0001 left this month ($0.0001 used)" in warning
    assert f"add credit at {sandbox.origin}" in warning


def test_a_reply_that_says_usage_limited_gets_one_warning_under_it(
    own: tuple[InteractiveShell, Sandbox],
) -> None:
    ip, sandbox = own
    ok(ip, "%%puter\nhello")
    spent = sandbox.metering.account(sandbox.token).total  # type: ignore[union-attr]
    sandbox.metering.set_allowance(sandbox.token, spent + 1)  # the next reply spends the last of it
    outputs = ok(ip, "%%puter\nhello again")
    assert "hello again" in outputs[0]["text/plain"]  # the reply arrived and shows
    (warning,) = warnings_in(outputs)
    assert "out of allowance (usage_limited)" in warning and "left this month" in warning
    assert warnings_in(ok(ip, "x = 1")) == []  # said once


def test_each_says_before_sending_when_the_batch_would_exceed_the_allowance(
    own: tuple[InteractiveShell, Sandbox],
) -> None:
    ip, sandbox = own
    ok(ip, "%%puter\nhello")  # what a reply costs here
    spent = sandbox.metering.account(sandbox.token).total  # type: ignore[union-attr]
    sandbox.metering.set_allowance(sandbox.token, spent * 3)  # about two replies left
    ip.user_ns["words"] = ["one", "two", "three", "four", "five", "six"]
    outputs = ok(ip, "%%puter --each words\nSay {item}")
    notes = [o["text/plain"] for o in outputs if "puter-note" in o.get("text/html", "")]
    assert len(notes) == 1 and notes[0].startswith("This batch may run out of allowance. 6 prompts")
    assert (
        outputs.index(next(o for o in outputs if o.get("text/plain") == notes[0])) == 0
    )  # before the results
    reads = sum(1 for r in sandbox.requests if r.path == "/metering/usage")
    sandbox.metering.set_allowance(sandbox.token, 10**9)  # credit added: no refusal to word this time
    ok(ip, "%%puter --each words --fresh\nSay {item} again")
    assert (
        sum(1 for r in sandbox.requests if r.path == "/metering/usage") == reads
    )  # read at most once a minute


def test_effort_and_verbosity_are_sent_and_named_in_the_footer(
    signed_in: InteractiveShell, sandbox: Sandbox
) -> None:
    outputs = ok(signed_in, "%%puter --effort high --verbosity low\nhello")
    args = sandbox.calls("complete")[-1].args
    assert (args["reasoning_effort"], args["verbosity"]) == ("high", "low")
    assert "· effort high · verbosity low" in outputs[-1]["text/plain"]
    ok(signed_in, "%%puter --no-stream\nhello")
    assert "reasoning_effort" not in sandbox.calls("complete")[-1].args
    _, refused = run(signed_in, "%%puter --effort huge\nhello")
    assert not refused.success and "invalid choice" in str(refused.error_in_exec)


def test_web_lists_the_cited_sources_as_safe_links(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    outputs = ok(signed_in, "%%puter -m sandbox-searcher --web\nlist comprehensions")
    assert sandbox.calls("complete")[-1].args["tools"] == [{"type": "web_search"}]
    reply = outputs[-1]
    assert (
        "Sources:\n[1] 5. Data Structures — Python documentation https://docs.python.org/"
        in reply["text/plain"]
    )
    link = (
        'href="https://en.wikipedia.org/wiki/List_comprehension" target="_blank" rel="noopener noreferrer">'
    )
    assert link in reply["text/html"]
    assert "· web search" in reply["text/plain"]
    hostile = {
        "success": True,
        "result": {
            "message": {
                "role": "assistant",
                "content": "See the sources.",
                "annotations": [
                    {
                        "type": "url_citation",
                        "url_citation": {"url": "javascript:alert(1)", "title": "<b>click</b>"},
                    },
                    {
                        "type": "url_citation",
                        "url": "https://ok.example/a",
                        "title": "Fine [x](javascript:y)",
                    },
                ],
            },
            "usage": {},
        },
    }
    sandbox.inject(Fault(body=hostile))
    html_text = ok(signed_in, "%%puter -m sandbox-searcher --web --no-stream\nanything")[-1]["text/html"]
    assert 'href="javascript' not in html_text and "(not linked: a javascript URL)" in html_text
    assert "<b>click</b>" not in html_text and "&lt;b&gt;click&lt;/b&gt;" in html_text
    assert 'href="https://ok.example/a"' in html_text


def test_web_with_a_model_that_cannot_search_is_a_clear_note(signed_in: InteractiveShell) -> None:
    (warning,) = warnings_in(ok(signed_in, "%%puter --web\nwhat is new in Python?"))
    assert warning.startswith("Puter: no web search for this model")
    assert "web search works with OpenAI's models" in warning
    ok(signed_in, "def f():\n    pass\n")
    _, refused = run(signed_in, "%%puter --web --tools f\nx")
    assert not refused.success and "--web goes without --tools" in str(refused.error_in_exec)


def test_voice_changer_plays_saves_and_keeps(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path
) -> None:
    ok(signed_in, "%%puter_speak --out said\ngood morning class")
    target = tmp_path / "bass.wav"
    outputs = ok(signed_in, f"%puter_voice said --voice bass --save {target} --out changed")
    assert outputs[0]["text/html"].startswith(
        '<audio controls preload="metadata" src="data:audio/wav;base64,'
    )
    assert "bass" in outputs[1]["text/plain"] and f"saved to {target}" in outputs[1]["text/plain"]
    changed = signed_in.user_ns["changed"]
    assert isinstance(changed, AudioResult) and target.read_bytes() == changed.data
    assert sandbox.calls("convert")[-1].args["voice"] == "bass"
    assert "good morning class" in text(ok(signed_in, "%puter_transcribe changed"))
    test_mode = ok(signed_in, "%puter_voice --test")
    assert "test mode: Puter's free sample" in test_mode[1]["text/plain"]
    _, missing = run(signed_in, "%puter_voice --voice bass")
    assert not missing.success and "needs SOURCE" in str(missing.error_in_exec)


def test_video_cell_shows_a_player_and_saves(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path
) -> None:
    target = tmp_path / "kite.mp4"
    outputs = ok(
        signed_in, f"%%puter_video --seconds 6 --size 720x1280 --save {target} --out clip\na kite at dusk"
    )
    assert outputs[0]["text/html"].startswith('<video controls preload="metadata"')
    clip = signed_in.user_ns["clip"]
    assert isinstance(clip, VideoResult) and target.read_bytes() == clip.data
    sent = sandbox.calls("generate")[-1].args
    assert (sent["prompt"], sent["seconds"], sent["size"]) == ("a kite at dusk", 6.0, "720x1280")
    sample = ok(signed_in, "%puter_video --test a kite")
    assert "test mode: Puter's sample video" in sample[1]["text/plain"]
    assert sandbox.calls("generate")[-1].args["test_mode"] is True


def test_speak_voices_lists_voices_and_engines(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    shown = text(ok(signed_in, "%puter_speak --voices"))
    assert "2 voices and 1 engine" in shown and "alto" in shown and "sandbox-tts" in shown
    assert sandbox.calls("list_voices")[-1].args == {}
    none = text(ok(signed_in, "%puter_speak --voices --provider openai"))
    assert "No voices from provider openai" in none
    assert sandbox.calls("list_voices")[-1].args == {"provider": "openai"}
    _, refused = run(signed_in, "%puter_speak --voices hello")
    assert not refused.success and "takes no text" in str(refused.error_in_exec)


def _notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("Lists are mutable.")
    (folder / "b.md").write_text("x" * 30_000)
    (folder / "c.png").write_bytes(picture("a cat", 64, 48))
    return folder


def test_each_over_a_glob_of_files(signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path) -> None:
    folder = _notes(tmp_path)
    outputs = ok(signed_in, f'%%puter --each "{folder}/*" --out replies\nSummarize {{path}}: {{item}}')
    summary = outputs[-1]["text/plain"]
    assert summary.startswith("3 prompts to sandbox-tutor: 3 answered")
    assert "1 file cut to its first 20,000 characters" in summary
    assert "1 image file attached to its question" in summary
    contents = [c.args["messages"][-1]["content"] for c in sandbox.calls("complete")]
    sent = sorted(contents, key=lambda c: c if isinstance(c, str) else "~")  # sent 3 at once: any order
    assert sent[0] == f"Summarize {folder}/a.md: Lists are mutable."
    assert sent[1].endswith("only its first 20,000 characters are here]") and len(sent[1]) < 20_300
    assert isinstance(sent[2], list) and sent[2][-1]["image_url"]["url"].startswith("data:image/png;base64,")
    replies = signed_in.user_ns["replies"]
    assert list(replies.index) == [str(folder / n) for n in ("a.md", "b.md", "c.png")]
    assert "Lists are mutable." in replies[str(folder / "a.md")]


def test_each_glob_out_is_a_dict_without_pandas(
    signed_in: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    folder = _notes(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pandas" else real(name, *a)
    )
    outputs = ok(signed_in, f'%%puter --each "{folder}/*.md" --out replies\n{{item}}')
    replies = signed_in.user_ns["replies"]
    assert isinstance(replies, FileReplies) and list(replies) == [str(folder / "a.md"), str(folder / "b.md")]
    assert replies.errors == {} and "replies.errors" in outputs[-1]["text/plain"]
    _, empty = run(signed_in, f'%%puter --each "{folder}/*.txt"\n{{item}}')
    assert not empty.success and "no file matches" in str(empty.error_in_exec)
    _, typo = run(signed_in, "%%puter --each nosuchname\n{item}")
    assert not typo.success and "no variable named nosuchname" in str(typo.error_in_exec)


def test_a_server_without_metering_is_a_quiet_note(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    sandbox.inject(
        Fault(status=404, body={"error": "Not Found", "code": "not_found"}, path="/metering/usage")
    )
    outputs = ok(signed_in, "%puter_usage")
    assert warnings_in(outputs) == []
    assert "this server does not report an allowance" in outputs[-1]["text/plain"]


def test_sources_with_parentheses_or_quotes_in_the_url_are_linked() -> None:
    from puter_magic.api.chat import Source
    from puter_magic.notebook.views import source_parts

    wiki = "https://en.wikipedia.org/wiki/Python_(programming_language)"
    quoted = "https://example.org/o'reilly/book"
    spaced = "https://example.org/a page"  # no valid URL: not linked, but its text is given
    plain, html_text, md = source_parts(
        [Source(wiki, "Python"), Source(quoted), Source(spaced, "Spaced"), Source("javascript:x()", "J")]
    )
    assert 'href="https://en.wikipedia.org/wiki/Python_%28programming_language%29"' in html_text
    assert 'href="https://example.org/o%27reilly/book"' in html_text
    assert "(<https://en.wikipedia.org/wiki/Python_%28programming_language%29>)" in md
    assert f"[1] Python {wiki}" in plain.splitlines() and f"[2] {quoted}" in plain.splitlines()
    assert "malformed" not in plain.splitlines()[1] + plain.splitlines()[2]
    assert f"[3] Spaced {spaced} (not linked: the URL is malformed)" in plain.splitlines()
    assert "[4] J (not linked: a javascript URL)" in plain.splitlines()  # no use in a terminal
    assert 'href="javascript' not in html_text and "a page" not in html_text
