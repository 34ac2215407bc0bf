"""numDeriv's ``grad`` and ``hessian`` timed in R, for the benchmarks' side-by-side tables.

Needs ``Rscript`` with numDeriv (Debian: ``apt-get install r-base-core
r-cran-numderiv``); without them :func:`numderiv_times` returns None and the
benchmarks leave numDeriv's column out. Each case is timed inside R over
batches of calls lasting at least 0.2 s, so neither R's start-up nor its
millisecond clock counts.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

R_SCRIPT = r"""
library(numDeriv)
sc2 <- function(x) { n <- length(x); sum((1:n) * (exp(x) - x)) / n }
gauss <- function(x) exp(-sum(x^2) / 2)
args <- commandArgs(trailingOnly = TRUE)
derivative <- get(args[1])
cases <- readLines(args[2])
out <- c()
for (line in cases) {
  parts <- strsplit(line, " ")[[1]]
  f <- get(parts[1]); repeat_n <- as.integer(parts[2]); x <- as.numeric(parts[-(1:2)])
  D <- derivative(f, x)
  calls <- 1
  repeat {
    t0 <- proc.time()[["elapsed"]]
    for (k in 1:calls) D <- derivative(f, x)
    if (proc.time()[["elapsed"]] - t0 >= 0.2) break
    calls <- calls * 2
  }
  best <- Inf
  for (k in 1:repeat_n) {
    t0 <- proc.time()[["elapsed"]]
    for (j in 1:calls) D <- derivative(f, x)
    best <- min(best, (proc.time()[["elapsed"]] - t0) / calls)
  }
  out <- c(out, paste(c(best, sprintf("%.17g", as.vector(D))), collapse = " "))
}
writeLines(out, args[3])
"""


def numderiv_times(derivative: str, cases, repeat: int):
    """``[(seconds, value), ...]`` of numDeriv's ``derivative`` ("grad" or "hessian").

    ``cases`` are ``(function name, x)`` with the function one of the script's
    (``sc2``, ``gauss``); a Hessian comes back as an ``(n, n)`` array. None
    where Rscript or numDeriv is missing.
    """
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script, inp, out = Path(tmp, "d.R"), Path(tmp, "in.txt"), Path(tmp, "out.txt")
        script.write_text(R_SCRIPT)
        inp.write_text(
            "\n".join(f"{name} {repeat} " + " ".join(f"{v:.17g}" for v in x) for name, x in cases)
        )
        proc = subprocess.run(
            ["Rscript", str(script), derivative, str(inp), str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            return None
        results = []
        for (_, x), line in zip(cases, out.read_text().splitlines(), strict=True):
            values = np.array([float(v) for v in line.split()])
            n = len(x)
            value = values[1:].reshape(n, n, order="F") if derivative == "hessian" else values[1:]
            results.append((float(values[0]), value))
        return results
