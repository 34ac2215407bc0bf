"""method="adaptive": steps chosen from the function, in three batched calls.

numDeriv's Richardson steps are a fixed fraction of ``|x|``: right for
functions that vary on the scale of x, wrong by orders of magnitude for
``exp(100 x)``, ``exp(-x / 1e6)``, ``log`` near 0 or a sum whose value
dwarfs each partial derivative. This method chooses each coordinate's steps
from the function itself, with a fixed number of calls and fixed shapes (no
loop that depends on the data, no transfer to the host), so it runs under
``jax.jit``, lazily on Dask and without synchronisation on a GPU:

1. **The call at x.**
2. **A pilot call**: three points per coordinate, ``x +- T/256`` and ``x +
   T`` with ``T = d max(|x|, 1)`` rounded down to a power of two (one-sided:
   ``x + s T {1/256, 1/128, 1}``): a near pair that resolves functions that
   vary on lengths down to ``T/256`` (sin at ``x = 1e4``) and a far point for
   those that vary slowly. The cubic through them and x gives estimates
   of the first three derivatives, and each of the ratios ``|d1/d2|``,
   ``|d2/d3|`` and ``sqrt|d1/d3|`` estimates the length ``lambda`` over which
   the function changes (exactly, for ``exp(x / lambda)``). Their median
   (ratios that are not finite or zero left out; where the far point is not
   finite, d1 and d2 from the near pair) sets the ladder's base step ``H = C
   lambda``, rounded down to a power of two so that every point of the
   ladder is exact in x's dtype. ``C`` balances truncation against rounding
   for the ladder's highest order and scales with the dtype's precision.
   Where no ratio survives, ``H`` is ``T / 256``, or ``C |x|`` if smaller
   (functions that stop being finite near 0, such as log, vary on ``|x|``).
3. **A ladder**: ``r`` levels of steps ``H, H/v, ..., H/v**(r-1)`` (central:
   a pair of points per level; one-sided: ``2r`` single points), whose
   Richardson table holds estimates of every order at every level. Each
   component keeps, among the estimates whose points are all finite, the one
   whose difference from the estimate of the order below plus its rounding
   error (``eps max|f|`` times its weights' amplification, divided by its
   step) is smallest. Its error estimate is the larger of that difference and
   the one from the estimate of the order below one level longer, plus the
   rounding error; it comes with it (``full_output``), as do its order and
   step.

Second derivatives (``hessian``) use the same pilot, a ladder of second
differences for the diagonal and a ladder of four-point mixed differences
``(f(++) - f(+-) - f(-+) + f(--)) / (4 h_i h_j)`` for each pair, all in the
third call.

Everything here is host-side weights (schemes, computed once and cached) and
a few array operations per call; the points go through the engine
(``_engine.run``) like every other method's, so the memory budget,
``max_batch`` and ``workers`` apply unchanged (a batch larger than the
budget allows is split into more calls, as for every method).

The package: ``ladders`` (host-side schemes), ``selection`` (the combination
on the device), ``derivatives`` (the three calls).
"""

from . import derivatives
from .derivatives import *  # noqa: F403 (the package's public names are derivatives')

# the names first.py and second.py call today (they switch to the names above)
first_derivatives = derivatives.adaptive_first_derivatives
hessian = derivatives.adaptive_hessian
hessian_values = derivatives.adaptive_hessian_values
sparse_first_derivatives = derivatives.adaptive_sparse_first_derivatives

__all__ = derivatives.__all__
