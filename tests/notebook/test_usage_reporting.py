"""Usage a reply did not report is said to be unreported, never counted as zero; counts
read as English ("1 token", "2 replies"), never "1 tokens" or "repl(ies)"."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from puter_magic.sandbox import Fault, Sandbox

from ..shell import run

NO_COUNTS = {"type": "usage", "usage": {"usd_cents": None}}  # what Puter streams for fake/costly


def streamed(text: str, usage: dict[str, Any]) -> Fault:
    return Fault.stream([{"type": "text", "text": text}, {"type": "usage", "usage": usage}])


def test_footer_says_tokens_were_not_reported(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    sandbox.inject(Fault.stream([{"type": "text", "text": "Lorem ipsum."}, NO_COUNTS]))
    outputs, _ = run(signed_in, "%%puter -m costly\nHello")
    reply = outputs[0]
    for mime in ("text/plain", "text/markdown", "text/html"):
        assert "costly · tokens not reported · " in reply[mime], reply[mime]


def test_a_real_server_stream_without_counts(signed_in: InteractiveShell) -> None:
    # The sandbox's copy of Puter's test provider streams the same bare usage line.
    outputs, _ = run(signed_in, "%%puter -m fake\nHello")
    assert "fake · tokens not reported · " in outputs[0]["text/plain"]


def test_meter_says_how_many_replies_reported_no_tokens(
    signed_in: InteractiveShell, sandbox: Sandbox
) -> None:
    sandbox.inject(
        streamed("One.", {"input_tokens": 100, "output_tokens": 32, "usd_cents": 0.5}),
        streamed("Two.", {"usd_cents": None}),
        streamed("Three.", {"usd_cents": None}),
    )
    run(signed_in, "%%puter -m claude-x\nOne")
    run(signed_in, "%%puter -m claude-x\nTwo")
    run(signed_in, "%%puter -m costly\nThree")
    outputs, _ = run(signed_in, "%puter_usage")
    table = outputs[0]["text/plain"]
    summary = table.rsplit("In all:", 1)[1]
    assert "132 tokens" in summary
    assert "2 of 3 replies reported no token counts" in summary
    assert summary.strip() != "132 tokens, 0.5¢ reported."  # never a partial total as if complete
    costly = next(line for line in table.splitlines() if line.startswith("costly"))
    assert costly.count("not reported") == 3  # input, output and cost: none reported, none counted as 0
    claude = next(line for line in table.splitlines() if line.startswith("claude-x"))
    assert "1 without token counts" in claude
    assert "2 of 3 replies reported no token counts" in outputs[0]["text/html"]


def test_meter_with_no_counts_at_all(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    sandbox.inject(streamed("Only.", {"usd_cents": None}))
    run(signed_in, "%%puter -m costly\nOnly")
    outputs, _ = run(signed_in, "%puter_usage")
    summary = outputs[0]["text/plain"].rsplit("In all:", 1)[1]
    assert "0 tokens" not in summary and "tokens not reported" in summary


ODD_PLURALS = re.compile(
    r"\(s\)|\(ies\)|\(es\)|\b1 (tokens|replies|exchanges|items|threads|messages|models|requests)\b"
)


def test_counts_read_as_english(signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path) -> None:
    seen: list[str] = []

    def cell(source: str, cell_id: str | None = None) -> list[dict[str, Any]]:
        outputs, result = run(signed_in, source, cell_id=cell_id)
        assert result.success, (source, result.error_in_exec)
        seen.extend(o.get("text/plain", "") + o.get("text/html", "") + o.get("stdout", "") for o in outputs)
        return outputs

    sandbox.inject(streamed("Hi.", {"input_tokens": 1, "output_tokens": 0}))
    footer = cell("%%puter\nOne token please")[0]["text/plain"]
    assert "· 1 token ·" in footer
    cell("%%puter\nFirst", cell_id="a")
    cell("%%puter\nSecond", cell_id="b")
    rerun = cell("%%puter\nFirst again", cell_id="a")[0]["text/plain"]
    assert "the 1 later exchange is kept as it was" in rerun
    cell("%puter_history")
    cell("%puter_history --replaced")
    cell(f"%puter_history --save {tmp_path / 'one.json'} --chat solo")
    cell("%%puter --chat solo\nAlone")
    cell(f"%puter_history --save {tmp_path / 'solo.json'} --chat solo")
    cell(f"%puter_history --load {tmp_path / 'solo.json'} --chat other")
    assert any("1 exchange" in s for s in seen)
    usage = cell("%puter_usage")[0]["text/plain"]
    assert "In all:" in usage
    cell("%puter_reset --chat solo")
    cell(f"%puter_record {tmp_path / 'tape.jsonl'}")
    cell("%%puter --chat taped\nRecorded once")
    cell("%puter_record --off")
    cell("%puter_reset --chat taped")
    cell(f"%puter_replay {tmp_path / 'tape.jsonl'} --fast")
    cell("%%puter --chat taped\nRecorded once")
    miss = cell("%%puter --chat taped\nNot recorded")[0]["text/plain"]
    assert "recorded 1 item, now 3" in miss
    replayed = cell("%puter_replay --off")[0]["text/plain"]
    assert "1 reply came from" in replayed
    cell("%puter_reset --all")
    odd = [s for s in seen if ODD_PLURALS.search(s)]
    assert odd == [], [ODD_PLURALS.search(s).group(0) for s in odd]  # type: ignore[union-attr]
