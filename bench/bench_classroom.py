"""What the classroom rules cost each request, as ratios measured in one run.

    .venv/bin/python bench/bench_classroom.py

The rules are checked at the start of each cell that asks (and kept for the requests it
makes): one ``stat`` of the notebook (and of the site file), a walk up the folders for
``TUTOR.md`` in tutor mode, and a notebook read again only when it changed. Measured on a
5 MB notebook (a few images in its outputs):

1. the gate of one request, in a cell of its own, with the files unchanged (the files checked,
   admit, the model's choice, the system prompt with TUTOR.md, the ticket's log line and
   output metadata), against one non-streamed chat request to the sandbox through
   PuterClient. Target: at most 0.25x, a quarter of the fastest request there is (a real
   Puter reply takes hundreds of milliseconds: there the gate is well under 0.1%).
2. reading the rules again after the notebook was saved (the whole file is parsed), against
   the same chat request. Reported, no target: it happens once per save, not per request.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import tempfile
import time
from collections.abc import Callable

from puter_magic import PuterClient
from puter_magic.notebook.classroom.gate import Classroom
from puter_magic.notebook.classroom.policy import PolicyWatch
from puter_magic.sandbox import Sandbox

ROUNDS = 200


def best(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    """The best per-call time of *fn* over a few batches (the least noisy estimate)."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        times.append((time.perf_counter() - started) / rounds)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        measure(pathlib.Path(tmp))


def measure(folder: pathlib.Path) -> None:
    path = folder / "assignment.ipynb"
    picture = base64.b64encode(os.urandom(1_200_000)).decode()
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": "%%puter\nhi", "execution_count": 1,
         "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": picture}}]}
        for i in range(3)
    ]  # fmt: skip
    rules = {"ai": "tutor", "models": ["sandbox-tutor"], "max_requests": 10**9, "log": True}
    path.write_text(json.dumps({"cells": cells, "metadata": {"puter_magic": rules}, "nbformat": 4}))
    (folder / "TUTOR.md").write_text("First-year course.")
    size = path.stat().st_size

    classroom = Classroom(PolicyWatch(lambda: path))
    classroom.begin("%%puter", {"temperature": 0.2})

    def gate() -> None:
        classroom.begin("%%puter", {"temperature": 0.2})  # each request in a cell of its own
        model = classroom.model_for("sandbox-tutor")
        classroom.system_prompt("Answer briefly.")
        ticket = classroom.admit(model=model, prompt="What is a list?")
        assert not isinstance(ticket, str)
        ticket.stamp(model, {"input_tokens": 10, "output_tokens": 20}, 0.5)  # type: ignore[union-attr]
        ticket.answered("A list is…", model=model, usage={"output_tokens": 20})  # type: ignore[union-attr]

    def reread() -> None:
        os.utime(path, ns=(time.time_ns(), time.time_ns()))
        classroom.begin("%%puter", {})
        classroom.rules()

    with Sandbox(pace=0.0) as sandbox:
        client = PuterClient(sandbox.origin, sandbox.token)
        ask = [{"role": "user", "content": "What is a list?"}]

        def request() -> None:
            client.chat(ask, model="sandbox-tutor")

        request()
        per_request = best(request, 50)
        per_gate = best(gate)
        per_reread = best(reread, 20)
        client.close()
    print(f"notebook: {size / 1e6:.1f} MB; one sandbox chat request: {per_request * 1e3:.2f} ms")
    gate_ratio, reread_ratio = per_gate / per_request, per_reread / per_request
    print(f"1. the gate of one request, files unchanged: {per_gate * 1e3:.3f} ms = {gate_ratio:.3f}x")
    print("   (target: at most 0.25x of a loopback request)")
    print(f"2. the rules read again after a save: {per_reread * 1e3:.1f} ms = {reread_ratio:.2f}x (per save)")


if __name__ == "__main__":
    main()
