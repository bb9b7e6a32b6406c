"""Client overhead, as ratios measured in one run (no absolute thresholds: machines are noisy).

    .venv/bin/python bench/bench_client.py

1. 500 sequential non-streamed chat calls to the sandbox through PuterClient.chat, against
   the same requests made with a bare requests.Session().post plus json.loads.
   Target: at most 1.10x.
2. A 100,000-line NDJSON stream through PuterClient.stream, against raw iter_lines() plus
   json.loads over the same HTTP reply; and the parsers alone on the same bytes in memory.
   Target: at most 1.2x.
3. `python -X importtime -c "import puter_magic"`: none of ipywidgets, markdown, nh3,
   IPython.display may be imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

import requests

from puter_magic import PuterClient
from puter_magic.api.chunks import iter_lines, parse_ndjson
from puter_magic.sandbox import Fault, Sandbox

ROUNDS = 5


def interleaved(a: Callable[[], None], b: Callable[[], None], rounds: int = ROUNDS) -> tuple[float, float]:
    """Best-of-rounds time of a and b, run alternately so that load hits both alike."""
    ta, tb = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        a()
        ta.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b()
        tb.append(time.perf_counter() - t0)
    return min(ta), min(tb)


def bench_chat(sandbox: Sandbox, calls: int = 500) -> float:
    client = PuterClient(sandbox.origin, sandbox.token)
    session = requests.Session()
    url = sandbox.origin + "/drivers/call"
    headers = {"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"}
    messages = [{"role": "user", "content": "Hello"}]

    def ours() -> None:
        for _ in range(calls):
            client.chat(messages, model="fake")

    def raw() -> None:
        for _ in range(calls):
            body = {
                "interface": "puter-chat-completion",
                "driver": "ai-chat",
                "method": "complete",
                "args": {"model": "fake", "messages": messages},
            }
            resp = session.post(url, data=json.dumps(body), headers=headers, timeout=(10, 120))
            json.loads(resp.content)["result"]["message"]["content"]

    ours()  # warm both connection pools
    raw()
    t_ours, t_raw = interleaved(ours, raw, rounds=3)
    ratio = t_ours / t_raw
    print(
        f"chat x{calls}: PuterClient {t_ours:.3f}s, bare requests {t_raw:.3f}s, "
        f"ratio {ratio:.3f} (target <= 1.10)"
    )
    return ratio


def bench_ndjson(sandbox: Sandbox, lines: int = 100_000) -> tuple[float, float]:
    body = (
        b"".join(json.dumps({"type": "text", "text": f"token {i} "}).encode() + b"\n" for i in range(lines))
        + b'{"type":"usage","usage":{"input_tokens":1,"output_tokens":2}}\n'
    )
    client = PuterClient(sandbox.origin, sandbox.token)
    session = requests.Session()
    url = sandbox.origin + "/drivers/call"
    call = {
        "interface": "puter-chat-completion",
        "driver": "ai-chat",
        "method": "complete",
        "args": {"model": "fake", "messages": [], "stream": True},
    }
    headers = {"Authorization": f"Bearer {sandbox.token}"}

    def fault() -> Fault:
        return Fault(body=body, content_type="application/x-ndjson")

    def ours() -> None:
        sandbox.inject(fault())
        count = sum(1 for _ in client.stream("puter-chat-completion", "complete", call["args"], "ai-chat"))
        assert count == lines + 1

    def raw() -> None:
        sandbox.inject(fault())
        resp = session.post(url, json=call, headers=headers, stream=True, timeout=(10, 120))
        count = sum(1 for line in resp.iter_lines() if line and json.loads(line))
        assert count == lines + 1

    t_ours, t_raw = interleaved(ours, raw)
    http_ratio = t_ours / t_raw
    print(
        f"NDJSON {lines:,} lines over HTTP: PuterClient.stream {t_ours:.3f}s, "
        f"iter_lines+json.loads {t_raw:.3f}s, ratio {http_ratio:.3f} (target <= 1.2)"
    )

    pieces = [body[i : i + 8192] for i in range(0, len(body), 8192)]

    def parse_ours() -> None:
        for _ in parse_ndjson(iter_lines(pieces)):
            pass

    def parse_raw() -> None:
        for line in b"".join(pieces).splitlines():
            if line:
                json.loads(line)

    p_ours, p_raw = interleaved(parse_ours, parse_raw)
    mem_ratio = p_ours / p_raw
    print(
        f"NDJSON {lines:,} lines in memory: typed chunks {p_ours:.3f}s, "
        f"splitlines+json.loads {p_raw:.3f}s, ratio {mem_ratio:.3f} (typed objects cost this much)"
    )
    return http_ratio, mem_ratio


HEAVY = ("ipywidgets", "markdown", "nh3", "IPython.display", "IPython.core.display")


def bench_import() -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import puter_magic"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = [line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    heavy = [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    total_us = sum(
        int(line.split("|")[1])
        for line in proc.stderr.splitlines()
        if "|" in line and line.split("|")[-1].strip() == "puter_magic"
    )
    print(
        f"import puter_magic: {len(modules)} modules, puter_magic's own cumulative "
        f"{total_us / 1000:.1f} ms; heavy modules imported: {heavy or 'none'}"
    )
    return heavy


def main() -> int:
    with Sandbox() as sandbox:
        chat_ratio = bench_chat(sandbox)
        http_ratio, _ = bench_ndjson(sandbox)
    heavy = bench_import()
    ok = chat_ratio <= 1.10 and http_ratio <= 1.2 and not heavy
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
