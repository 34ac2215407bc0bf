"""Array mode: derivatives of sampled data.

``gradient`` parses numpy.gradient's arguments into one stencil plan per axis
(``plans``), and an executor (``executors``) carries the plans out on the data's
library: generic Array API code, NumPy in cache-sized blocks, Dask chunk by chunk.
"""
