"""Host-side numerics: stencil weights and Richardson tables, never an array namespace.

Everything here runs on the host in float64 (NumPy) or exactly (Python numbers,
``fractions.Fraction``); nothing takes an ``xp``, imports an array library other
than NumPy, or touches a device. Array mode (``xpdiff._array``) and function
mode (``xpdiff._function``) build their plans and schemes from these numbers.
"""
