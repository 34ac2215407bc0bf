#!/usr/bin/env bash
# Runs gpu_tests and benchmarks/bench_gpu.py on a CUDA machine without network, in under
# 8 minutes, and writes what they print into an output folder.
#
#   gpu_tests/run_gpu_checks.sh WHEELS OUT [--dry-run]
#
# WHEELS: a folder holding an xpdiff wheel and an array-api-compat wheel (make it where
# there is network: `pip wheel . --no-deps -w WHEELS && pip download array-api-compat
# --no-deps -d WHEELS`). CuPy (and, for their columns, torch and jax with CUDA) must be
# installed on the machine already; a virtual environment with the system's packages gets
# xpdiff and array-api-compat from WHEELS (pip --no-index). OUT receives:
#   environment.txt     nvidia-smi, python and library versions
#   gpu_tests.log       pytest's output; pytest_summary.txt its last line
#   bench_gpu.md        the benchmark's tables; bench_gpu.log its output
# --dry-run checks the arguments and the wheels, then runs bench_gpu.py --dry-run and
# collects gpu_tests (no GPU, no install): what a machine without a GPU can check.
set -uo pipefail

usage() {
    echo "usage: $0 WHEELS OUT [--dry-run]" >&2
    echo "  WHEELS: folder with xpdiff-*.whl and array_api_compat-*.whl; OUT: output folder" >&2
    exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
WHEELS=$1
OUT=$2
DRY=0
if [ $# -eq 3 ]; then
    [ "$3" = "--dry-run" ] || usage
    DRY=1
fi
[ -d "$WHEELS" ] || { echo "error: WHEELS folder $WHEELS does not exist" >&2; exit 2; }
for wheel in "xpdiff-*.whl" "array_api_compat-*.whl"; do
    # shellcheck disable=SC2086
    if ! ls "$WHEELS"/$wheel >/dev/null 2>&1; then
        echo "error: no $wheel in $WHEELS" >&2
        exit 2
    fi
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
PYTHON=${PYTHON:-python3}
START=$(date +%s)

if [ $DRY -eq 1 ]; then
    echo "dry run: arguments and wheels fine; no install" | tee "$OUT/environment.txt"
    cd "$ROOT" || exit 2
    $PYTHON -m pytest -q -p no:cacheprovider --collect-only gpu_tests > "$OUT/gpu_tests.log" 2>&1
    status=$?
    tail -n 1 "$OUT/gpu_tests.log" > "$OUT/pytest_summary.txt"
    $PYTHON benchmarks/bench_gpu.py --dry-run --repeat 1 --out "$OUT" > "$OUT/bench_gpu.log" 2>&1
    bench=$?
    echo "collect: $(cat "$OUT/pytest_summary.txt"); bench_gpu --dry-run exit $bench"
    [ $status -eq 0 ] && [ $bench -eq 0 ]
    exit $?
fi

VENV="$OUT/venv"
timeout 120 $PYTHON -m venv --system-site-packages "$VENV" || { echo "error: venv" >&2; exit 1; }
# shellcheck disable=SC1091
. "$VENV/bin/activate"
timeout 120 python -m pip install -q --no-index --find-links "$WHEELS" xpdiff array-api-compat \
    || { echo "error: pip install from $WHEELS failed" >&2; exit 1; }
{
    nvidia-smi 2>&1 | head -n 15
    python -c "import sys, numpy, cupy, xpdiff; print('python', sys.version.split()[0]); \
print('numpy', numpy.__version__, 'cupy', cupy.__version__, 'xpdiff', xpdiff.__file__); \
print('CUDA runtime', cupy.cuda.runtime.runtimeGetVersion(), 'driver', cupy.cuda.runtime.driverGetVersion())"
} > "$OUT/environment.txt" 2>&1

cd "$ROOT" || exit 1
# the tests import the installed xpdiff (pytest's pythonpath holds tests/ only, not src/)
XPDIFF_REQUIRE_GPU=1 timeout 270 python -m pytest -q -p no:cacheprovider gpu_tests \
    > "$OUT/gpu_tests.log" 2>&1
tests=$?
tail -n 1 "$OUT/gpu_tests.log" > "$OUT/pytest_summary.txt"
left=$(( 450 - ($(date +%s) - START) ))
[ $left -gt 30 ] || left=30
timeout "$left" python benchmarks/bench_gpu.py --out "$OUT" > "$OUT/bench_gpu.log" 2>&1
bench=$?
echo "gpu_tests: $(cat "$OUT/pytest_summary.txt") (exit $tests); bench_gpu.py exit $bench;" \
    "$(( $(date +%s) - START )) s"
[ $tests -eq 0 ] && [ $bench -eq 0 ]
