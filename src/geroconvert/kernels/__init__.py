"""Numba kernels: arrays and scalars in, arrays out.  No I/O, no classes, no config."""
