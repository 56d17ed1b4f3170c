"""The core: cell state, random streams, layout codes, step inputs, pharmacology, the numba
kernels, the stepper and its run loop, the recorder and the RPP assay.

Takes validated :mod:`geroconvert.parameters`; knows nothing of files, configs or studies.
"""
