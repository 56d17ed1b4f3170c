"""geroconvert: agent-based simulation of mTOR-driven geroconversion in skin cells.

Importing the package is cheap on purpose: the engine (numba), the archive (h5py)
and plotting load only when a command or module needs them.
"""

__version__ = "0.1.0"
