"""Load on loopback, bounded in count and time; prints the figures the README quotes.

    .venv/bin/python bench/bench_soak.py [calls] [seconds]

1. `calls` (2,000) sequential %%puter cells against the sandbox in one IPython shell: resident
   memory, traced Python memory and open file descriptors after a warm-up and at the end.
2. 8 threads sharing one PuterClient, calling chat for `seconds` (30): calls made, errors,
   and connections left open once the client is closed.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
import tracemalloc
from typing import Any

from puter_magic import PuterClient
from puter_magic.sandbox import Sandbox


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def sequential(calls: int = 2000) -> dict[str, Any]:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "puter_magic")
    magics = shell.magics_manager.registry["PuterMagics"]
    magics.rich_output = True
    with Sandbox() as sandbox:
        os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
        shell.run_line_magic("puter_login", f"--origin {sandbox.origin}")
        magics.default_model = "sandbox-tutor-lite"

        def cell(i: int) -> None:
            with capture_output():
                # Alternate streamed and not. --new keeps one exchange in the thread, so
                # what the conversation stores by design does not hide a leak.
                shell.run_cell_magic("puter", "--new" + (" --no-stream" if i % 2 else ""), f"Question {i}")

        warm = max(50, calls // 10)
        for i in range(warm):
            cell(i)
        sandbox.requests.clear()
        gc.collect()
        tracemalloc.start()
        base = (rss_kib(), tracemalloc.get_traced_memory()[0], open_fds())
        started = time.monotonic()
        for i in range(warm, warm + calls):
            cell(i)
            if i % 200 == 0:
                sandbox.requests.clear()  # the sandbox's own record is not ours to count
        elapsed = time.monotonic() - started
        sandbox.requests.clear()
        gc.collect()
        end = (rss_kib(), tracemalloc.get_traced_memory()[0], open_fds())
        tracemalloc.stop()
        exchanges = len(magics.session.conversations.get().exchanges)
        magics.session.close()
    shell.run_line_magic("unload_ext", "puter_magic")
    InteractiveShell.clear_instance()
    result = {
        "calls": calls,
        "seconds": elapsed,
        "rss_growth_kib": end[0] - base[0],
        "traced_growth_kib": (end[1] - base[1]) // 1024,
        "fd_growth": end[2] - base[2],
        "exchanges": exchanges,
    }
    print(
        f"{calls:,} sequential %%puter cells in {elapsed:.1f} s: RSS {base[0] / 1024:.1f} -> "
        f"{end[0] / 1024:.1f} MiB ({result['rss_growth_kib']:+,} KiB), traced Python memory "
        f"{result['traced_growth_kib']:+,} KiB, "
        f"open fds {base[2]} -> {end[2]}"
    )
    return result


def concurrent(seconds: float = 30.0, threads: int = 8) -> dict[str, Any]:
    with Sandbox() as sandbox:
        client = PuterClient(sandbox.origin, sandbox.token)
        calls = [0] * threads
        errors: list[BaseException] = []
        stop = time.monotonic() + seconds
        fds_before = open_fds()

        def worker(n: int) -> None:
            while time.monotonic() < stop:
                try:
                    reply = client.chat(f"thread {n} call {calls[n]}", model="sandbox-echo")
                    assert reply.text == f"thread {n} call {calls[n]}"
                    calls[n] += 1
                except BaseException as exc:
                    errors.append(exc)
                    return

        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(seconds + 30)
        open_during = len(sandbox._server.connections) if sandbox._server else 0
        client.close()
        deadline = time.monotonic() + 5
        while sandbox._server and sandbox._server.connections and time.monotonic() < deadline:
            time.sleep(0.05)
        left = len(sandbox._server.connections) if sandbox._server else 0
        fds_after = open_fds()
    result = {
        "threads": threads,
        "seconds": seconds,
        "calls": sum(calls),
        "errors": len(errors),
        "connections_open_before_close": open_during,
        "connections_left": left,
        "fd_growth": fds_after - fds_before,
        "first_error": repr(errors[0]) if errors else None,
    }
    print(
        f"{threads} threads x {seconds:.0f} s on one PuterClient: {sum(calls):,} chat calls, "
        f"{len(errors)} errors, {open_during} pooled connections, {left} left open after close(), "
        f"fd growth {result['fd_growth']:+d}"
    )
    return result


def main() -> int:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    seq = sequential(calls)
    conc = concurrent(seconds)
    ok = (
        seq["fd_growth"] <= 2
        and seq["traced_growth_kib"] < 8 * 1024
        and conc["errors"] == 0
        and conc["connections_left"] == 0
    )
    print("stable" if ok else "UNSTABLE")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
