"""How much `%load_ext puter_magic` adds to starting IPython, measured in one run.

    .venv/bin/python bench/bench_load.py [runs]

Median wall time of `ipython -c "%load_ext puter_magic"` against `ipython -c "pass"`, the two
interleaved so machine load hits both alike. Target: the difference stays under 10 ms
(jupyter-ai-magics adds about 1.5 s on the same kind of machine). On a shared machine one
IPython start varies by more than that, so it also prints the median of the paired
differences, the same for the processes' CPU time (less shaken by other work), and the load
measured inside one IPython process (wall and CPU, medians of several).

The runs use the package's compiled bytecode, as an installed package has it: the child
processes run without PYTHONDONTWRITEBYTECODE, and a first run writes the __pycache__ files
(otherwise every run would compile the magics' source again, some 60 ms that no user pays).

Also lists what the load imports: the puter_magic modules (the magics' declarations and the
classroom's rules; the flows, views, client and sandbox load on first use) and any of the
heavy libraries, which must be none of requests, urllib3, markdown, nh3, ipywidgets,
anywidget or pygments' formatters.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

IPYTHON = [sys.executable, "-m", "IPython", "--no-banner", "--quick", "--colors=NoColor"]
HEAVY = ("requests", "urllib3", "markdown", "nh3", "ipywidgets", "anywidget", "pygments.formatters")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
HERE = Path(__file__).parent


def ipython(code: str) -> str:
    run = subprocess.run
    return run([*IPYTHON, "-c", code], check=True, capture_output=True, text=True, cwd=HERE, env=ENV).stdout


def timed(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``ipython -c CODE``."""
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    ipython(code)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t0, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


def inside() -> tuple[float, float]:
    """Wall and CPU milliseconds of ``%load_ext puter_magic`` inside one IPython process."""
    out = ipython(
        "import time; t0, c0 = time.perf_counter(), time.process_time()\n%load_ext puter_magic\n"
        "print((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000)"
    )
    wall, cpu = out.split()[-2:]
    return float(wall), float(cpu)


def imported() -> tuple[list[str], list[str]]:
    """The puter_magic modules and the heavy modules that ``%load_ext puter_magic`` imports."""
    out = ipython(
        "import sys, json; before = set(sys.modules)\n%load_ext puter_magic\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    new = json.loads(out.strip().splitlines()[-1])
    ours = [m for m in new if m.split(".")[0] == "puter_magic"]
    heavy = [m for m in new if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    return ours, heavy


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    timed("%load_ext puter_magic")  # writes the bytecode, warms the file cache
    timed("pass")
    base, loaded = [], []
    for _ in range(runs):
        base.append(timed("pass"))
        loaded.append(timed("%load_ext puter_magic"))
    b, lo = statistics.median(w for w, _ in base), statistics.median(w for w, _ in loaded)
    diff_ms = (lo - b) * 1000
    paired_ms = statistics.median(x[0] - y[0] for x, y in zip(loaded, base, strict=True)) * 1000
    cpu_ms = statistics.median(x[1] - y[1] for x, y in zip(loaded, base, strict=True)) * 1000
    walls, cpus = zip(*(inside() for _ in range(max(runs // 3, 3))), strict=True)
    ours, heavy = imported()
    print(
        f"ipython -c pass: median {b * 1000:.0f} ms; with %load_ext puter_magic: {lo * 1000:.0f} ms "
        f"({runs} runs each)"
    )
    print(f"load_ext adds {diff_ms:.1f} ms, ratio {lo / b:.3f} (target: under 10 ms)")
    print(f"median of the paired differences: {paired_ms:.1f} ms wall, {cpu_ms:.1f} ms CPU")
    print(
        f"measured inside one IPython process, %load_ext puter_magic takes {statistics.median(walls):.1f} ms "
        f"(CPU {statistics.median(cpus):.1f} ms; medians of {len(walls)})"
    )
    print(f"puter_magic modules imported by %load_ext ({len(ours)}): {', '.join(ours)}")
    print(f"heavy modules imported by %load_ext: {heavy}")
    ok = diff_ms < 10 and not heavy
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
