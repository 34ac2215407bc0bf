"""``import xpdiff`` against ``import numpy``, side by side (bytecode cached).

Run: ``python benchmarks/bench_import.py [--repeat N]``

Each import runs in a fresh interpreter (``python -c``), alternating between
the two, ``--repeat`` times; the best wall time of each, less the best time
of an interpreter that imports nothing, is the import's cost. xpdiff imports
NumPy, so its time includes NumPy's: the target is a ratio of at most 1.2.
``-X importtime`` of one run lists the slowest modules xpdiff adds.
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--repeat", type=int, default=15)
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
    bare = min(times["pass"])
    numpy_ms = (min(times["import numpy"]) - bare) * 1e3
    xpdiff_ms = (min(times["import xpdiff"]) - bare) * 1e3
    print(f"best of {args.repeat}, interpreter start ({bare * 1e3:.1f} ms) subtracted")
    print(f"{'import numpy':>16}: {numpy_ms:7.1f} ms")
    print(f"{'import xpdiff':>16}: {xpdiff_ms:7.1f} ms   ratio {xpdiff_ms / numpy_ms:.2f}")
    print("slowest modules that xpdiff adds (self time, -X importtime, one run):")
    for own, name in _slowest_added(8):
        print(f"  {own / 1e3:6.1f} ms  {name}")


if __name__ == "__main__":
    main()
