"""Function mode: derivatives of a Python function, numDeriv's semantics, batched.

``first`` (grad, jacobian) and ``second`` (genD, hessian) turn arguments into
host-side schemes (``schemes``, with ``settings`` and the numerics of
``xpdiff._numerics``); ``engine`` lays their points out under the memory budget,
``points`` writes them, ``evaluators`` calls func on them, and the engine
combines the values. ``adaptive`` and ``sparse`` are methods built on the same
engine.
"""
