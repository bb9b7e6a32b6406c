"""Streaming through %%puter, as ratios measured in one run.

    .venv/bin/python bench/bench_stream.py

1. A 20,000-chunk reply from the sandbox at full speed through `%%puter` (display updates
   serialised to JSON as a kernel would send them), against consuming the same stream with
   raw requests and json.loads. Target: at most 1.25x, with at most 20 display updates a second.
2. First chunk to first visible update: the time from the stream reader receiving the first
   text to the display update that shows it, measured inside the process. Target: under 50 ms.
"""

from __future__ import annotations

import json
import statistics
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


def raw_consume(sandbox: Sandbox) -> float:
    body = {
        "interface": "puter-chat-completion",
        "driver": "ai-chat",
        "method": "complete",
        "args": {"model": "fake", "messages": [{"role": "user", "content": "go"}], "stream": True},
    }
    sandbox.inject(stream_fault())
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
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    publisher = KernelLikePublisher(shell=shell)
    shell.display_pub = publisher
    shell.run_line_magic("load_ext", "puter_magic")
    magics = shell.magics_manager.registry["PuterMagics"]
    magics.rich_output = True
    with Sandbox() as sandbox:
        import os

        os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
        shell.run_line_magic("puter_login", f"--origin {sandbox.origin}")

        def ours() -> tuple[float, int]:
            sandbox.inject(stream_fault())
            before = publisher.messages
            t0 = time.perf_counter()
            shell.run_cell_magic("puter", "-m fake --no-history", "go")
            return time.perf_counter() - t0, publisher.messages - before

        ours()
        raw_consume(sandbox)
        t_ours, t_raw, updates = [], [], []
        for _ in range(5):
            t, n = ours()
            t_ours.append(t)
            updates.append(n)
            t_raw.append(raw_consume(sandbox))
        best_ours, best_raw = min(t_ours), min(t_raw)
        n_updates = updates[t_ours.index(best_ours)]
        rate = n_updates / best_ours
        ratio = best_ours / best_raw
        print(
            f"{CHUNKS:,}-chunk stream: %%puter {best_ours:.3f}s ({n_updates} display messages, "
            f"{rate:.1f}/s), raw requests+json.loads {best_raw:.3f}s, ratio {ratio:.3f} (target <= 1.25)"
        )

        # First chunk to first visible update, with a reply that starts after a pause.
        from puter_magic.live import stream_live

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
