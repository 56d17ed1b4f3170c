"""Studies built from many runs: executors (local processes, Dask), sweeps, the split-hand
trial, calibration and the validation suite."""
