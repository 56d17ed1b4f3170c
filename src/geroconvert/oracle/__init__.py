"""The rules in plain Python: one module of per-cell rule functions (:mod:`.rules`) used by
a slow array reference (:mod:`.reference`) and by one Mesa agent per cell
(:mod:`.mesa_agents`).  Both are tested step by step against the numba kernels."""
