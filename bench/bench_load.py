"""How much `%load_ext puter_magic` adds to starting IPython, measured in one run.

    .venv/bin/python bench/bench_load.py [runs]

Median wall time of `ipython -c "%load_ext puter_magic"` against `ipython -c "pass"`, the two
interleaved so machine load hits both alike. Target: the difference stays under 50 ms
(jupyter-ai-magics adds about 1.5 s on the same kind of machine). Also lists what the
extension imports on load, which must not include requests, markdown, nh3 or ipywidgets.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

IPYTHON = [sys.executable, "-m", "IPython", "--no-banner", "--quick", "--colors=NoColor"]
HEAVY = ("requests", "markdown", "nh3", "ipywidgets", "urllib3", "pygments.formatters")


def timed(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([*IPYTHON, "-c", code], check=True, capture_output=True, cwd=Path(__file__).parent)
    return time.perf_counter() - t0


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    timed("pass")  # warm the file cache
    base, loaded = [], []
    for _ in range(runs):
        base.append(timed("pass"))
        loaded.append(timed("%load_ext puter_magic"))
    b, lo = statistics.median(base), statistics.median(loaded)
    diff_ms = (lo - b) * 1000
    probe = subprocess.run(
        [
            *IPYTHON,
            "-c",
            "import sys; before = set(sys.modules)\n%load_ext puter_magic\n"
            f"print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in {HEAVY!r}))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    heavy = probe.stdout.strip().splitlines()[-1] if probe.stdout.strip() else "[]"
    inproc = subprocess.run(
        [
            *IPYTHON,
            "-c",
            "import time; t0 = time.perf_counter()\n%load_ext puter_magic\n"
            "print((time.perf_counter() - t0) * 1000)",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    inside_ms = float(inproc.stdout.strip().splitlines()[-1])
    print(
        f"ipython -c pass: median {b * 1000:.0f} ms; with %load_ext puter_magic: {lo * 1000:.0f} ms "
        f"({runs} runs each)"
    )
    print(f"load_ext adds {diff_ms:.1f} ms, ratio {lo / b:.3f} (target: under 50 ms)")
    print(f"measured inside one IPython process, %load_ext puter_magic takes {inside_ms:.1f} ms")
    print(f"heavy modules imported by %load_ext: {heavy}")
    ok = diff_ms < 50 and heavy == "[]"
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
