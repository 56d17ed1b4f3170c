"""The public API: ``import geroconvert`` offers the documented entry points, lazily, and
importing it (or the parameter, config and layout modules) has no side effects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import geroconvert

HEAVY = ("numba", "h5py", "matplotlib", "mesa", "scipy")


def _fresh_python(code: str, home: Path) -> dict:
    """Run ``code`` in a new interpreter whose cache home is ``home``; it prints JSON."""
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def test_every_exported_name_resolves():
    assert geroconvert.__all__, "the package exports nothing"
    for name in geroconvert.__all__:
        assert getattr(geroconvert, name) is not None, name
    assert set(geroconvert.__all__) <= set(dir(geroconvert))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Simulaton'"):
        _ = geroconvert.Simulaton


def test_the_package_ships_its_type_marker():
    assert (Path(geroconvert.__file__).parent / "py.typed").is_file()


def test_importing_the_package_loads_nothing_heavy_and_writes_nothing(tmp_path):
    code = (
        "import json, sys, geroconvert, geroconvert.config, geroconvert.core.layout, "
        "geroconvert.parameters.models; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(HEAVY)!r})))"
    )
    loaded = _fresh_python(code, tmp_path)
    assert loaded == [], f"import geroconvert loaded {loaded}"
    assert not (tmp_path / "geroconvert").exists(), "an import created a cache folder"


def test_the_numba_cache_folder_is_settled_when_kernels_are_first_needed(tmp_path):
    code = (
        "import json, geroconvert, numba; before = numba.config.CACHE_DIR; "
        "import geroconvert.core.kernels; "
        "print(json.dumps([str(before), str(numba.config.CACHE_DIR)]))"
    )
    before, after = _fresh_python(code, tmp_path)
    assert after.startswith(str(tmp_path / "geroconvert" / "numba-")), after
    assert before != after


def test_errors_share_one_base_class_and_fold_to_one_line():
    for name in ("ConfigError", "ArchiveError", "ClusterError", "UsageError"):
        error = getattr(geroconvert, name)("first line\n  second line")
        assert isinstance(error, geroconvert.GeroconvertError)
        assert str(error) == "first line second line"
