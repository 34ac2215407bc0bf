"""``import xpdiff`` against ``import numpy``, side by side (bytecode cached).

Run: ``python benchmarks/bench_import.py [--repeat N]``

Each import runs in a fresh interpreter (``python -c``), in turns with the
others, ``--repeat`` times, so that a shared machine's changing load falls on
all alike; the best wall time of each, less the best time of an interpreter
that imports nothing, is the import's cost, and the median of the same runs
is printed beside it (on a loaded machine the two ratios bracket the truth).
xpdiff imports NumPy, so its time includes NumPy's: the target is a ratio of
at most 1.2. ``-X importtime`` of one run lists the slowest modules xpdiff
adds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
#: bytecode written once and reused (under a prefix: the source tree stays clean),
#: whatever PYTHONDONTWRITEBYTECODE says in the caller's environment
CACHE = tempfile.mkdtemp(prefix="xpdiff-import-bench-")
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPATH": SRC,
    "PYTHONPYCACHEPREFIX": CACHE,
}


def _wall(code: str) -> float:
    env = ENV
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def _slowest_added(count: int) -> list[tuple[int, str]]:
    env = ENV
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import numpy; import xpdiff"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = run.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith("| numpy"))
    rows = []
    for line in lines[start + 1 :]:
        parts = line.split("|")
        if len(parts) == 3 and parts[0].startswith("import time:"):
            rows.append((int(parts[0].split(":")[1]), parts[2].strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=41)
    parser.add_argument("--src", help="another xpdiff source tree to time (e.g. an older one)")
    args = parser.parse_args()
    if args.src:
        ENV["PYTHONPATH"] = args.src
    for code in ("pass", "import numpy", "import xpdiff"):
        _wall(code)  # bytecode written and cached
    times: dict[str, list[float]] = {"pass": [], "import numpy": [], "import xpdiff": []}
    for _ in range(args.repeat):
        for code in times:
            times[code].append(_wall(code))
    print(f"{args.repeat} runs of each in turns, interpreter start subtracted")
    print(f"{'':>16}  {'best ms':>8} {'median ms':>10}")
    costs = {}
    for statistic in (min, statistics.median):
        bare = statistic(times["pass"])
        costs[statistic] = [(statistic(times[code]) - bare) * 1e3 for code in times]
    for k, code in enumerate(times):
        print(f"{code:>16}  {costs[min][k]:8.1f} {costs[statistics.median][k]:10.1f}")
    best, median = (costs[s][2] / costs[s][1] for s in (min, statistics.median))
    print(f"{'ratio':>16}  {best:8.2f} {median:10.2f}   (xpdiff / numpy; target 1.2)")
    print("slowest modules that xpdiff adds (self time, -X importtime, one run):")
    for own, name in _slowest_added(8):
        print(f"  {own / 1e3:6.1f} ms  {name}")


if __name__ == "__main__":
    main()
