"""The classroom rules in an IPython shell: what each magic sends, refuses, logs and stamps.

The notebook is named as Jupyter names it (``JPY_SESSION_NAME``); its rules are in its
metadata, as ``puter-classroom`` writes them. The sandbox records what was sent.
"""

from __future__ import annotations

import atexit
import json
import pathlib
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from puter_magic.notebook.classroom.handout import write_rules
from puter_magic.notebook.classroom.tutor import TUTOR_INSTRUCTIONS, tutor_prompt
from puter_magic.sandbox import Fault, Sandbox

from ..shell import final_outputs, magics_of, run, signed_in_to

TOOLS = '''
def describe(n: int = 5) -> list:
    """The first n rows."""
    return [{"row": i} for i in range(n)]
'''


@pytest.fixture
def assignment(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """An empty notebook that this shell's "Jupyter" says it runs."""
    folder = tmp_path / "course" / "week1"
    folder.mkdir(parents=True)
    path = folder / "assignment.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    return path


def rules(path: pathlib.Path, **values: Any) -> None:
    write_rules(path, values, clear=True)


def texts(outputs: list[dict[str, Any]]) -> str:
    return "\n".join(str(o.get("text/plain", o.get("stdout", ""))) for o in outputs)


def log_lines(path: pathlib.Path) -> list[dict[str, Any]]:
    log = path.with_name(path.stem + ".puter-log.jsonl")
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def with_metadata(shell: InteractiveShell, source: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Run a cell; its final outputs as (data, metadata), display updates folded in."""
    with capture_output() as captured:
        result = shell.run_cell(source)
    assert result.success, result.error_in_exec
    shown: list[tuple[dict[str, Any], dict[str, Any]]] = []
    by_id: dict[str, int] = {}
    for out in captured._outputs:
        display_id = (out.get("transient") or {}).get("display_id")
        pair = (out["data"], out.get("metadata") or {})
        if out.get("update") and display_id in by_id:
            shown[by_id[display_id]] = pair
            continue
        if display_id:
            by_id[display_id] = len(shown)
        shown.append(pair)
    return shown


def test_ai_off_sends_nothing_from_any_magic(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, ai="off", log=True)
    signed_in.run_cell(TOOLS + "items = ['a', 'b']\npicture = b'\\x89PNG'\nsound = b'RIFF'")
    signed_in.run_cell("1/0")
    cells = [
        "%%puter\nWhat is a list?",
        "%puter What is a set?",
        "%puter_explain",
        "%%puter --compare sandbox-tutor,sandbox-tutor-lite\nhi",
        "%%puter --each items\nSay {item}",
        "%%puter -m sandbox-agent --tools describe\ndescribe 2",
        "%%puter_image\na cat",
        "%puter_speak hello",
        "%puter_voice sound --voice alloy",
        "%%puter_video\na kite in the wind",
        "%puter_transcribe sound",
        "%puter_ocr picture",
        '%puter_call puter-chat-completion complete {"messages": [{"role": "user", "content": "hi"}]}',
        "%puter_call puter-tts list_voices",
    ]
    for cell in cells:
        outputs, result = run(signed_in, cell)
        assert result.success, (cell, result.error_in_exec)  # a calm note: Run All goes on
        assert (
            texts(outputs) == "AI help is off for this notebook (set by the notebook). Nothing was sent."
        ), cell
    assert sandbox.calls() == []
    logged = log_lines(assignment)
    assert [e["outcome"] for e in logged] == ["refused"] * len(cells)
    assert [e["magic"] for e in logged][:3] == ["%%puter", "%puter", "%puter_explain"]
    assert logged[0]["prompt"] == "What is a list?" and logged[0]["ai"] == "off"


def test_only_the_models_allowed_are_asked_and_offered(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, models=["sandbox-tutor-lite", "sandbox-echo"])
    outputs, _ = run(signed_in, "%%puter -m sandbox-tutor\nhi")
    assert texts(outputs) == (
        "sandbox-tutor is not one of this notebook's models: sandbox-tutor-lite, sandbox-echo "
        "(set by the notebook). Nothing was sent."
    )
    assert sandbox.calls("complete") == []
    run(signed_in, "%%puter\nWhich model?")  # the default (sandbox-tutor) is not allowed
    assert sandbox.calls("complete")[-1].args["model"] == "sandbox-tutor-lite"
    run(signed_in, "%%puter -m sandbox-echo\nhi")
    assert sandbox.calls("complete")[-1].args["model"] == "sandbox-echo"
    outputs, _ = run(signed_in, "%%puter --compare sandbox-echo,sandbox-thinker\nhi")
    assert "sandbox-thinker is not one of this notebook's models" in texts(outputs)
    assert len(sandbox.calls("complete")) == 2
    magics_of(signed_in).rich_output = False
    outputs, _ = run(signed_in, "%puter_models")
    table = texts(outputs)
    assert "sandbox-tutor-lite" in table and "sandbox-echo" in table
    assert "sandbox-thinker" not in table and "sandbox-agent" not in table
    magics_of(signed_in).rich_output = True
    selector = magics_of(signed_in).model_selector()
    selector.refresh(force=True)
    assert sorted(m.id for m in selector.models) == ["sandbox-echo", "sandbox-tutor-lite"]


def test_max_requests_counts_each_model_item_and_step(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, max_requests=6)
    signed_in.run_cell(TOOLS + "items = ['a', 'b', 'c']")
    run(signed_in, "%%puter\none")  # 1
    run(signed_in, "%%puter --compare sandbox-tutor,sandbox-tutor-lite\ntwo and three")  # 3
    outputs, _ = run(signed_in, "%%puter -m sandbox-agent --tools describe\nPlease describe n=2")  # 5
    assert "tools: 1 call in 2 requests" in texts(outputs)
    outputs, result = run(signed_in, "%%puter --each items --out answers\nSay {item}")  # 6: one item
    assert result.success
    assert "Request limit: 2 of 3 items were not asked." in texts(outputs)
    assert signed_in.user_ns["answers"][0] is not None
    assert len(sandbox.calls("complete")) == 6
    outputs, _ = run(signed_in, "%%puter\nseven")
    assert texts(outputs).startswith(
        "Request limit reached: this notebook allows 6 requests per kernel session"
    )
    outputs, _ = run(signed_in, "%puter_policy")
    assert "6; 0 left (6 sent in this kernel session)  (the notebook)" in texts(outputs)
    assert len(sandbox.calls("complete")) == 6
    run(signed_in, "%puter_models --refresh")  # the model list is not a request
    run(signed_in, "%puter_login --sandbox")  # nor is signing in


def test_the_limit_stops_a_tools_loop_between_steps(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, max_requests=1, log=True)
    signed_in.run_cell(TOOLS)
    outputs, result = run(signed_in, "%%puter -m sandbox-agent --tools describe\nPlease describe n=2")
    assert result.success
    text = texts(outputs)
    assert "Request limit reached" in text and "nothing of this cell is kept" in text
    assert len(sandbox.calls("complete")) == 1
    assert magics_of(signed_in).session.conversations.get().exchanges == []
    assert [(e["outcome"], e.get("step")) for e in log_lines(assignment)] == [
        ("answered", 1),
        ("refused", None),
    ]


def test_tutor_mode_reaches_every_way_of_asking(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, ai="tutor")
    teacher = "Level: first year. Do not reveal the answer to exercise 3."
    (assignment.parent.parent / "TUTOR.md").write_text(teacher)  # found from the sub-folder
    expected = tutor_prompt(teacher, "Answer in French.")

    def system_sent(index: int = -1) -> str:
        messages = sandbox.calls("complete")[index].args["messages"]
        return str(messages[0]["content"]) if messages[0]["role"] == "system" else ""

    outputs, _ = run(signed_in, "%%puter -s 'Answer in French.'\nSolve exercise 3 for me.")
    assert system_sent() == expected
    assert texts(outputs).splitlines()[-1].startswith("sandbox-tutor · ") and " · tutor" in texts(outputs)
    assert magics_of(signed_in).session.conversations.get().system == "Answer in French."  # the student's
    run(signed_in, "%puter Next hint?")
    assert system_sent() == expected  # the thread's -s comes after the tutor's, again
    run(signed_in, "%%puter --no-history\none-shot")
    assert system_sent() == tutor_prompt(teacher, None)
    outputs, _ = run(signed_in, "%%puter --compare sandbox-tutor,sandbox-tutor-lite\nhi")
    assert system_sent(-1).startswith(TUTOR_INSTRUCTIONS) and system_sent(-2).startswith(TUTOR_INSTRUCTIONS)
    assert texts(outputs).count("· tutor") == 2
    signed_in.run_cell("items = ['x']")
    run(signed_in, "%%puter --each items -s 'Be brief.'\nExplain {item}")
    assert system_sent() == tutor_prompt(teacher, "Be brief.")
    signed_in.run_cell("[][1]")
    run(signed_in, "%puter_explain")
    assert system_sent().startswith(TUTOR_INSTRUCTIONS)
    assert "give me a hint toward fixing it" in sandbox.calls("complete")[-1].args["messages"][-1]["content"]
    asked = len(sandbox.calls("complete"))
    outputs, _ = run(signed_in, '%puter_call puter-chat-completion complete {"messages": []}')
    assert "not available in tutor mode" in texts(outputs)
    outputs, _ = run(signed_in, "%%puter --code\nWrite the solution cell.")
    assert texts(outputs).startswith("--code is not available in tutor mode (set by the notebook).")
    assert len(sandbox.calls("complete")) == asked
    outputs, _ = run(signed_in, "%puter_policy")
    [line] = [x for x in texts(outputs).splitlines() if x.strip().startswith("TUTOR.md")]
    assert line.endswith(str(assignment.parent.parent / "TUTOR.md"))


def test_the_log_after_answered_failed_and_refused(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, models=["sandbox-tutor"], log=True)
    signed_in.user_ns["topic"] = "recursion"
    signed_in.run_cell("%%puter -t 0.2\nExplain {topic}.", cell_id="cell-1")
    sandbox.inject(Fault.error(400, "bad_request", "The sandbox refused this one."))
    outputs, result = run(signed_in, "%%puter --no-stream\nThis one fails.", cell_id="cell-2")
    assert result.success and "The sandbox refused this one." in texts(outputs)
    run(signed_in, "%%puter -m sandbox-echo\nNot allowed.", cell_id="cell-3")
    first, failed, refused = log_lines(assignment)
    assert first["outcome"] == "answered" and first["cell"] == "cell-1" and first["magic"] == "%%puter"
    assert first["prompt"] == "Explain recursion."  # as sent, after {name} filling
    assert first["options"] == {"temperature": 0.2}
    assert first["model"] == first["answered_by"] == "sandbox-tutor"
    assert "Explain recursion." in first["reply"] and first["usage"]["output_tokens"] > 0
    assert first["time"].endswith("Z")
    assert failed["outcome"] == "failed" and "bad_request" in failed["error"] and failed["cell"] == "cell-2"
    assert refused["outcome"] == "refused" and refused["model"] == "sandbox-echo"
    assert "not one of this notebook's models" in refused["reason"]
    raw = assignment.with_name("assignment.puter-log.jsonl").read_text()
    assert sandbox.token not in raw


def test_a_folder_that_cannot_be_written_is_a_note(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, log=True)
    magics_of(signed_in).log_file = str(assignment.parent / "no-such-folder" / "log.jsonl")
    outputs, result = run(signed_in, "%%puter\nhi")
    assert result.success
    assert "Classroom log: could not write" in texts(outputs) and "sandbox-tutor · " in texts(outputs)
    outputs, _ = run(signed_in, "%%puter\nagain")
    assert "Classroom log" not in texts(outputs)  # said once


def test_each_reply_carries_where_it_came_from(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    from puter_magic import __version__

    run(signed_in, "%puter_models")  # the catalogue is read: the provider is known
    [(_, metadata)] = with_metadata(signed_in, "%%puter -t 0.5\nhi")
    about = metadata["puter_magic"]
    assert about["model"] == "sandbox-tutor" and about["provider"] == "sandbox"
    assert about["usage"]["output_tokens"] > 0 and about["options"] == {"temperature": 0.5}
    assert about["version"] == __version__ and about["time"].endswith("Z") and "ai" not in about
    [(_, metadata)] = with_metadata(signed_in, "%%puter --compare sandbox-tutor,sandbox-tutor-lite\nhi")
    replies = metadata["puter_magic"]["replies"]
    assert [r["model"] for r in replies] == ["sandbox-tutor", "sandbox-tutor-lite"]
    assert replies[1]["provider"] == "sandbox-openai"
    magics_of(signed_in).rich_output = False
    signed_in.run_cell("items = ['a', 'b']")
    pairs = with_metadata(signed_in, "%%puter --each items\nSay {item}")
    about = next(md["puter_magic"] for _, md in pairs if md)
    assert about["items"] == {"asked": 2, "answered": 2} and about["usage"]["output_tokens"] > 0
    assert sandbox.token not in json.dumps([md for _, md in pairs])


def test_code_goes_to_the_next_input(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    outputs, _ = run(signed_in, "%%puter --code\nShow me a loop.")
    assert "questions = 2" not in signed_in.rl_next_input  # the reply's own code block, not another
    assert signed_in.rl_next_input.startswith("# The sandbox answers deterministically")
    assert 'print(f"question number {questions}")' in signed_in.rl_next_input
    assert "--code: 1 code block (3 lines) put into the next prompt, not run." in texts(outputs)
    outputs, _ = run(signed_in, "%%puter -m sandbox-tutor-lite --code\nNo code here.")
    assert "--code: the reply has no code block, so no cell was added." in texts(outputs)


def test_load_names_the_rules(assignment: pathlib.Path) -> None:
    rules(assignment, ai="tutor", max_requests=30)
    shell = InteractiveShell.instance()
    try:
        with capture_output() as captured:
            shell.run_line_magic("load_ext", "puter_magic")
        [note] = final_outputs(captured)
        assert note["text/plain"] == (
            "Classroom rules for this notebook: AI as a tutor; 30 requests. See %puter_policy."
        )
    finally:
        shell.run_line_magic("unload_ext", "puter_magic")
        InteractiveShell.clear_instance()
        atexit.unregister(shell.atexit_operations)  # as tests/shell.py's fixture does


def test_load_says_a_site_file_that_cannot_be_read_turned_ai_off(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "a value was not understood": the file itself could not be read, so AI help is off,
    and whoever runs the hub is the one to ask; the reason reads as written (no quotes)."""
    site = tmp_path / "policy.json"
    site.write_text('{"ai": "tutor",')
    monkeypatch.setenv("PUTER_MAGIC_POLICY", str(site))
    shell = InteractiveShell.instance()
    try:
        with capture_output() as captured:
            shell.run_line_magic("load_ext", "puter_magic")
        first, second = (note["text/plain"] for note in final_outputs(captured))
        assert first == (
            "Classroom rules: the site's rules file could not be read, so AI help is off: "
            f"{site}: Expecting property name enclosed in double quotes: line 1 column 16 (char 15); "
            "ask whoever runs this hub"
        )
        assert second == (
            f"Classroom rules for this notebook: AI help off, set by the site ({site}), which could "
            "not be read. See %puter_policy."
        )
        site.unlink()
        with capture_output() as captured:
            shell.run_cell("%puter_policy")
        note, view = final_outputs(captured)  # the new reason once in a note, then the rules
        assert note["text/plain"].endswith(f"{site}: No such file or directory; ask whoever runs this hub")
        assert (
            "  problem: the site's rules file could not be read, so AI help is off: "
            f"{site}: No such file or directory; ask whoever runs this hub"
        ) in view["text/plain"].splitlines()
    finally:
        shell.run_line_magic("unload_ext", "puter_magic")
        InteractiveShell.clear_instance()
        atexit.unregister(shell.atexit_operations)


def test_rules_kept_from_an_earlier_read_are_named_by_the_next_cell_and_puter_policy(
    signed_in: InteractiveShell, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "policy.json"
    site.write_text(json.dumps({"max_requests": 7}))
    monkeypatch.setenv("PUTER_MAGIC_POLICY", str(site))
    outputs, _ = run(signed_in, "%puter_policy")
    assert "problem" not in texts(outputs)
    site.unlink()
    outputs, _ = run(signed_in, "%%puter -m sandbox-echo\nhi")
    note = outputs[0]["text/plain"]
    assert note.startswith("Classroom rules: the site file could not be read again; the rules read at ")
    assert note.endswith(f"stand: {site}: No such file or directory; ask whoever runs this hub")
    assert outputs[1]["text/plain"].startswith("hi\n")  # the rules kept stand: the request went
    outputs, _ = run(signed_in, "%puter_policy")
    [view] = outputs
    assert "max_requests  7; 6 left" in view["text/plain"]
    assert f"  problem: {note.removeprefix('Classroom rules: ')}" in view["text/plain"].splitlines()


def test_media_magics_are_counted_logged_and_stamped(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, max_requests=3, log=True)
    pairs = with_metadata(signed_in, "%%puter_image --out pic\nA kite")
    about = next(md["puter_magic"] for _, md in pairs if md)
    assert about["options"] == {"out": "pic"} and about["version"]
    pairs = with_metadata(signed_in, "%puter_ocr pic")
    assert next(md for _, md in pairs if md)["puter_magic"]["options"] == {"source": "pic"}
    run(signed_in, "%puter_call puter-tts list_voices")
    outputs, _ = run(signed_in, "%puter_speak Hello")
    assert texts(outputs).startswith("Request limit reached")
    logged = [(e["magic"], e["outcome"]) for e in log_lines(assignment)]
    assert logged == [
        ("%%puter_image", "answered"),
        ("%puter_ocr", "answered"),
        ("%puter_call", "answered"),
        ("%puter_speak", "refused"),
    ]
    assert log_lines(assignment)[1]["prompt"] == "(image: pic)"


def test_the_stop_button_is_logged_as_interrupted(ip: InteractiveShell, assignment: pathlib.Path) -> None:
    import _thread
    import threading

    rules(assignment, log=True)
    with Sandbox(slow_pace=0.03) as sandbox:
        signed_in_to(ip, sandbox)
        timer = threading.Timer(0.6, _thread.interrupt_main)  # what the kernel does on "stop"
        timer.start()
        outputs, result = run(ip, "%%puter -m sandbox-slow\nTell me a long story")
        timer.join()
        assert result.success and "(interrupted)" in texts(outputs)
    [entry] = log_lines(assignment)
    assert entry["outcome"] == "interrupted" and entry["reply"].startswith("### Turn 1")


def test_hostile_rules_are_shown_as_text(signed_in: InteractiveShell, assignment: pathlib.Path) -> None:
    from ..htmlcheck import live_markup

    hostile = "<img src=x onerror=\"window.__pwned='policy'\">"
    rules(assignment, models=[hostile])
    outputs, _ = run(signed_in, "%puter_policy")
    outputs += run(signed_in, "%%puter -m sandbox-echo\nhi")[0]
    for out in outputs:
        assert live_markup(out["text/html"]) == [] and hostile in out["text/plain"]


def test_the_model_list_through_puter_call_is_not_a_request(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, max_requests=1, ai="tutor")
    for method in ("models", "list"):
        outputs, result = run(signed_in, f"%puter_call puter-chat-completion {method}")
        assert result.success and "sandbox-tutor" in texts(outputs), method  # listed, in tutor mode too
    outputs, _ = run(signed_in, "%puter_policy")
    assert "1; 1 left (0 sent in this kernel session)" in texts(outputs)
    outputs, _ = run(signed_in, "%%puter\nstill one request left?")
    assert "Request limit" not in texts(outputs) and len(sandbox.calls("complete")) == 1


def test_inputs_refused_before_sending_count_nothing_and_log_no_failure(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    rules(assignment, max_requests=1, log=True)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    signed_in.user_ns["long_text"] = "word " * 1000  # over Puter's 3,000 characters for speech
    cells = [
        "%puter_transcribe no-such-recording.wav",
        "%puter_voice no-such-recording.wav --voice bass",
        f"%puter_ocr {notes}",
        "%puter_speak {long_text}",
    ]
    for cell in cells:
        _, result = run(signed_in, cell)
        assert isinstance(result.error_in_exec, UsageError), cell  # the input's one-line UsageError
    assert sandbox.calls() == []
    assert log_lines(assignment) == []  # no request was sent: none failed
    outputs, _ = run(signed_in, "%puter_policy")
    assert "1; 1 left (0 sent in this kernel session)" in texts(outputs)
    outputs, _ = run(signed_in, "%%puter\nthe one request")
    assert "Request limit" not in texts(outputs) and len(sandbox.calls("complete")) == 1


def test_a_request_not_sent_for_want_of_a_sign_in_is_not_logged_as_failed(
    ip: InteractiveShell, assignment: pathlib.Path
) -> None:
    rules(assignment, max_requests=1, log=True)
    magics_of(ip).default_model = "sandbox-tutor"
    for cell in ("%%puter\nhi", "%%puter_image\na kite"):
        outputs, result = run(ip, cell)
        assert result.success and "not signed in" in texts(outputs), cell  # one warning
    assert magics_of(ip).session.classroom.sent == 0
    assert log_lines(assignment) == []  # nothing was sent: nothing failed


def test_ai_off_reads_no_catalogue_when_no_model_is_chosen(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, ai="off")
    magics_of(signed_in).default_model = ""  # the model would be chosen from the server's list
    signed_in.run_cell("items = ['a', 'b']")
    for cell in ("%%puter\nhi", "%puter hi?", "%%puter --each items\nSay {item}"):
        outputs, result = run(signed_in, cell)
        assert result.success and texts(outputs).startswith("AI help is off for this notebook"), cell
    assert sandbox.calls() == []  # not even the model list: nothing is sent


def test_each_asks_again_when_the_mode_changes_and_shows_nothing_when_off(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    rules(assignment, log=True)
    signed_in.run_cell("items = ['a', 'b']")
    cell = "%%puter --each items\nSay {item}"
    run(signed_in, cell)
    assert len(sandbox.calls("complete")) == 2
    rules(assignment, ai="tutor", log=True)
    outputs, _ = run(signed_in, cell)
    assert len(sandbox.calls("complete")) == 4  # the tutor's replies, not the earlier ones
    assert "earlier run" not in texts(outputs) and "tutor mode" in texts(outputs)
    messages = sandbox.calls("complete")[-1].args["messages"]
    assert messages[0]["role"] == "system" and messages[0]["content"].startswith(TUTOR_INSTRUCTIONS)
    outputs, _ = run(signed_in, cell)  # the same mode again: remembered
    assert len(sandbox.calls("complete")) == 4 and "answered in an earlier run" in texts(outputs)
    rules(assignment, ai="off", log=True)
    outputs, result = run(signed_in, cell)
    assert result.success and texts(outputs) == (
        "AI help is off for this notebook (set by the notebook). Nothing was sent."
    )
    refused = log_lines(assignment)[-1]
    assert refused["outcome"] == "refused" and refused["items"] == 2


def test_puter_call_replies_carry_where_they_came_from(
    signed_in: InteractiveShell, sandbox: Sandbox, assignment: pathlib.Path
) -> None:
    body = '{"model": "sandbox-tutor", "messages": [{"role": "user", "content": "hi"}]}'
    for cell, model in (
        (f"%puter_call puter-chat-completion complete {body}", "sandbox-tutor"),
        ("%puter_call puter-tts list_voices", None),
        (f'%puter_call puter-chat-completion complete {body[:-1]}, "stream": true}}', "sandbox-tutor"),
    ):
        pairs = with_metadata(signed_in, cell)
        stamped = [md["puter_magic"] for _, md in pairs if md.get("puter_magic")]
        assert len(stamped) == 1, cell  # the reply, not its footer
        assert stamped[0]["version"] and stamped[0].get("model") == model, cell
    chat = with_metadata(signed_in, f"%puter_call puter-chat-completion complete {body}")
    about = next(md["puter_magic"] for _, md in chat if md.get("puter_magic"))
    assert about["usage"]["output_tokens"] > 0
