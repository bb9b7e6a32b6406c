"""Options that do what they say (issue 17, item 5), driven through the magics."""

from __future__ import annotations

import re
import time
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell

from puter_magic.sandbox import Sandbox

from ..shell import magics_of, run


def test_compare_no_stream_asks_whole_replies(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    outputs, _ = run(signed_in, "%%puter --compare fake,costly --no-stream\nHi")
    calls = sandbox.calls("complete")
    assert len(calls) == 2 and not any(c.args.get("stream") for c in calls)
    plain = outputs[-1]["text/plain"]
    # Puter's test models report token counts only in whole replies
    assert "tokens not reported" not in plain
    assert "fake · 1 token · " in plain and "costly · 169 tokens · " in plain
    rows = {m: u for m, u in magics_of(signed_in).session.meter.models.items()}
    assert rows["fake"].tokens > 0 and rows["costly"].tokens > 0


def test_compare_streams_by_default(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    run(signed_in, "%%puter --compare fake,costly\nHi")
    assert all(c.args.get("stream") for c in sandbox.calls("complete"))


CALL = (
    '%puter_call puter-chat-completion complete {"model": "sandbox-tutor", "stream": true, '
    '"messages": [{"role": "user", "content": "What is a loop?"}]}'
)


def test_puter_call_of_a_streamed_reply_shows_its_text(signed_in: InteractiveShell) -> None:
    outputs, _ = run(signed_in, CALL)
    plain = "\n".join(o.get("text/plain", "") for o in outputs)
    assert "What is a loop?" in plain  # the tutor quotes the prompt: the text is shown
    assert "--out" not in plain and "VAR" not in plain
    assert "Sandbox Tutor" in outputs[0]["text/html"]  # rendered as a reply
    outputs, _ = run(signed_in, CALL + " --out answer")
    reply = signed_in.user_ns["answer"]
    assert "What is a loop?" in reply.text and reply.usage
    assert "in answer" in "\n".join(o.get("text/plain", "") for o in outputs)


def test_usage_counts_every_request_of_the_notebook(signed_in: InteractiveShell, tmp_path: Path) -> None:
    run(signed_in, "%%puter\nHi")
    run(signed_in, "%puter_image --test a cat")
    run(signed_in, "%puter_image -m sandbox-image --out kite A kite")
    run(signed_in, "%puter_speak --test Hello")
    run(signed_in, "%puter_ocr kite")
    run(signed_in, "%puter_call puter-tts list_voices")
    run(signed_in, CALL)
    outputs, _ = run(signed_in, "%puter_usage")
    plain = outputs[0]["text/plain"]
    rows = [re.match(r"(\S+(?: \S+)?) {2,}(\d+) ", line) for line in plain.splitlines()[2:]]
    requests = {row.group(1): row.group(2) for row in rows if row}
    assert requests["sandbox-tutor"] == "2"  # the cell and the streamed %puter_call
    assert requests["sandbox-image"] == "1" and requests["puter-image-generation"] == "1"
    assert requests["puter-tts"] == "1"  # spoken
    assert requests["puter-ocr"] == "1"
    assert requests["puter-tts list_voices"] == "1"
    assert "no token counts" not in plain  # a picture is not a reply that forgot its tokens


def test_replay_at_the_original_pace_waits_for_whole_replies(ip: InteractiveShell, tmp_path: Path) -> None:
    path = tmp_path / "slow.jsonl"
    run(ip, "%puter_login --sandbox")
    magics_of(ip).session.sandbox.think_time = 0.8
    run(ip, f"%puter_record {path}")
    run(ip, "%%puter --no-stream\nTake your time")
    run(ip, "%puter_record --off")
    run(ip, "%puter_logout")
    run(ip, f"%puter_replay {path}")
    started = time.monotonic()
    outputs, _ = run(ip, "%%puter --no-stream\nTake your time")
    took = time.monotonic() - started
    assert "replayed from slow.jsonl" in outputs[0]["text/plain"]
    assert took >= 0.8  # as long as the original reply took, not at once
    run(ip, "%puter_replay --off")
