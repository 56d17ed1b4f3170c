"""A warm run loads its cached kernels without numba's compiler registries (issue 14, item 8).

``core.kernels.lean_cache_loads`` skips the registry refresh numba does before a cache
load, and the kernels avoid numpy reductions that pull in numba's array math (and scipy
with it).  Either coming back silently costs a warm run about 0.1-0.25 s; this test sees it.
"""

import subprocess
import sys

from tests.conftest import ROOT

RUN = """
import sys
from geroconvert.config import load_config
from geroconvert.core.engine import run_timed
params = load_config("ht_p21.toml", ["simulation.width=12", "simulation.height=12", "simulation.hours=24",
                                     "assays.rpp_times_h=[0, 24]", "assays.max_cells=4"]).params
results = run_timed(params)
print(results.summary["rpp_final"], "numba.np.arraymath" in sys.modules, "scipy.linalg" in sys.modules)
"""


def run_in_a_fresh_process() -> list[str]:
    done = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_warm_run_loads_no_array_math_and_gives_the_same_result():
    first = run_in_a_fresh_process()  # compiles the kernels if the cache is cold
    warm = run_in_a_fresh_process()
    assert warm[0] == first[0]  # the same result from loaded kernels as from compiled or loaded ones
    assert warm[1:] == ["False", "False"], "a warm run imported numba's array math or scipy.linalg"


EPIDERMIS = """
import sys
from geroconvert.config import load_config
from geroconvert.core.engine import run_timed
params = load_config("epidermis_small.toml", ["simulation.hours=240"]).params
results = run_timed(params)
print(results.timeseries["clones_surviving"][-1], "numba.np.arraymath" in sys.modules, "scipy.linalg" in sys.modules)
"""


def test_a_warm_epidermis_run_loads_no_array_math_either():
    """The epidermis's own kernels (the clone count among them) keep to the same rule."""
    runs = []
    for _ in range(2):  # the first may compile
        done = subprocess.run([sys.executable, "-c", EPIDERMIS], capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert done.returncode == 0, done.stderr
        runs.append(done.stdout.split())
    assert runs[1][0] == runs[0][0]
    assert runs[1][1:] == ["False", "False"], "a warm epidermis run imported numba's array math or scipy.linalg"
