"""Many prompts within Puter's limits, as ratios measured in one run.

    .venv/bin/python bench/bench_batch.py

The sandbox runs in its own process and enforces Puter's limits scaled in time (30
requests per 1 s instead of per 10 s, 3 at once), each reply taking S seconds.

1. 300 prompts through PuterClient.chat_many against it. The lower bound the limits allow:
   with R sends per window W, C at once and a service time S, the k-th window's sends can
   start only after k windows, and within a window C slots serve one request per S each, so
   the batch cannot end before  max over k of (k*W + floor((N-1-k*R)/C)*S) + S  (k = 0 is
   the concurrency bound alone, ceil(N/C)*S). S is the server's think time alone (HTTP
   costs nothing in the bound), which makes the ratio conservative.
   Target: at most 1.10x the bound, no item lost; the 429s it provoked are reported.
2. The same prompts in a plain Python loop of PuterClient.chat, for the speed-up.
3. 60 prompts with a slower reply (S = 0.2 s), where concurrency and not the window binds
   (as with real models, whose replies take seconds). Target: at most 1.10x the bound; and
   the plain loop again.
4. A guest: the sandbox's temporary account (``tier="temp"``: 20 per 10 s, 2 at once, in real
   time) and 40 prompts through chat_many with no limits given, which it learns from
   ``/whoami``. The lower bound is about 10.7 s (the second window opens at 10 s). Target: at
   most 1.10x the bound and no 429 provoked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from puter_magic import PuterClient

RATE, WINDOW, AT_ONCE = 30, 1.0, 3

SERVER = """
import json, sys
from puter_magic.sandbox import Sandbox
sandbox = Sandbox({limits}, think_time={think}).start()
print(sandbox.origin, sandbox.token, flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "counts":
        print(json.dumps(vars(sandbox.limits.counts)), flush=True)
    elif command == "reset":
        sandbox.limits.reset()
        print("{{}}", flush=True)
"""


class Server:
    """The limited sandbox in a process of its own (its threads do not share our GIL)."""

    def __init__(self, think: float, limits: str = "") -> None:
        limits = limits or f"rate_limit=({RATE}, {WINDOW}), concurrency_limit={AT_ONCE}"
        code = SERVER.format(limits=limits, think=think)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.origin, self.token = self.proc.stdout.readline().split()

    def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def fresh_window(self) -> None:
        time.sleep(WINDOW * 1.1)  # what earlier runs sent has left the window
        self.ask("reset")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def lower_bound(n: int, rate: int, window: float, at_once: int, service: float) -> float:
    """The earliest the last of n replies can arrive under the limits (see the module's doc)."""
    best = 0.0
    for k in range((n - 1) // rate + 1):
        best = max(best, k * window + ((n - 1 - k * rate) // at_once) * service)
    return best + service


def run_batch(server: Server, n: int, service: float) -> tuple[float, bool]:
    prompts = [f"Label review number {i}: fine, I suppose." for i in range(n)]
    with PuterClient(server.origin, server.token) as client:
        client.chat("warm up", model="sandbox-echo")
        server.fresh_window()
        result = client.chat_many(prompts, model="sandbox-echo", concurrency=AT_ONCE, rate=(RATE, WINDOW))
    counts = server.ask("counts")
    bound = lower_bound(n, RATE, WINDOW, AT_ONCE, service)
    ratio = result.elapsed / bound
    lost = sum(1 for item, prompt in zip(result, prompts, strict=True) if item.text != prompt)
    refused = counts["too_many"] + counts["too_many_at_once"]
    print(
        f"batch of {n}, S={service:g}s: {result.elapsed:.2f}s, lower bound {bound:.2f}s, "
        f"ratio {ratio:.3f} (target <= 1.10); items lost {lost}; 429s provoked {refused} "
        f"(window {counts['too_many']}, at once {counts['too_many_at_once']}; the client met "
        f"{result.rate_limited}); most at once {counts['most_at_once']}"
    )
    return result.elapsed, ratio <= 1.10 and lost == 0


def run_loop(server: Server, n: int) -> float:
    prompts = [f"Label review number {i}: fine, I suppose." for i in range(n)]
    with PuterClient(server.origin, server.token) as client:
        client.chat("warm up", model="sandbox-echo")
        server.fresh_window()
        started = time.perf_counter()
        texts = [client.chat(p, model="sandbox-echo").text for p in prompts]
        took = time.perf_counter() - started
    assert texts == prompts
    counts = server.ask("counts")
    print(f"plain loop of {n}: {took:.2f}s ({counts['too_many']} 429s)")
    return took


def run_guest(n: int, service: float) -> bool:
    """A guest's batch at Puter's real pace, its limits learnt from /whoami."""
    server = Server(think=service, limits='tier="temp"')
    try:
        with PuterClient(server.origin, server.token) as client:
            prompts = [f"Label review number {i}: fine, I suppose." for i in range(n)]
            result = client.chat_many(prompts, model="sandbox-echo")
        counts = server.ask("counts")
    finally:
        server.close()
    limits = result.limits
    assert limits is not None and limits.tier == "guest"
    bound = lower_bound(n, limits.rate, limits.window, limits.concurrency, service)
    ratio = result.elapsed / bound
    lost = sum(1 for item, prompt in zip(result, prompts, strict=True) if item.text != prompt)
    refused = counts["too_many"] + counts["too_many_at_once"]
    print(
        f"guest batch of {n} ({limits.rate} per {limits.window:g} s, {limits.concurrency} at once), "
        f"S={service:g}s: {result.elapsed:.2f}s, lower bound {bound:.2f}s, ratio {ratio:.3f} "
        f"(target <= 1.10); items lost {lost}; 429s provoked {refused}"
    )
    return ratio <= 1.10 and lost == 0 and refused == 0


def main() -> int:
    ok = True
    server = Server(think=0.05)
    try:
        batch, passed = run_batch(server, 300, 0.05)
        ok &= passed
        loop = run_loop(server, 300)
        print(f"speed-up over the plain loop: {loop / batch:.2f}x")
    finally:
        server.close()
    server = Server(think=0.2)
    try:
        batch, passed = run_batch(server, 60, 0.2)
        ok &= passed
        loop = run_loop(server, 60)
        print(f"speed-up over the plain loop: {loop / batch:.2f}x")
    finally:
        server.close()
    ok &= run_guest(40, 0.07)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
