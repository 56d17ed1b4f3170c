"""wall_s is the run; numba's compilation (or cache load) is recorded apart as compile_s.

Before, the first run of every process carried the compile in its wall_s (20 s cold, 0.3 s
from the cache), so a timing study or a sweep's wall times mixed the model with the JIT.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import json
from geroconvert.core.engine import run_timed
from tests.helpers import ht_p21
times = []
for _ in range(2):
    summary = run_timed(ht_p21(hours=24.0)).summary
    times.append([summary["wall_s"], summary["compile_s"]])
print(json.dumps(times))
"""


def test_the_first_run_of_a_process_records_its_compile_apart():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    (wall_1, compile_1), (wall_2, compile_2) = json.loads(done.stdout)
    assert compile_1 > 0.0  # the kernels were compiled or loaded from the cache: timed apart
    assert compile_2 == 0.0  # already in memory
    assert wall_1 > 0.0 and wall_2 > 0.0
