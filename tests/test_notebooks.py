"""The teaching notebooks (experiments/teaching) run from top to bottom without error.

Each notebook's first code cell holds its parameters, ``SIZE`` first; the test replaces
``SIZE`` by a small value (as papermill would) and executes the notebook with nbclient
in a fresh kernel.  It also checks that each lesson asks its question before it answers,
that the committed notebooks are what ``make_notebooks.py`` writes, and that they are
stored executed: every cell that draws shows its figure, computed from today's sources.
"""

from __future__ import annotations

import re
import sys
import time

import pytest

from tests.conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

TEACHING = ROOT / "experiments" / "teaching"
NOTEBOOKS = sorted(TEACHING.glob("*.ipynb"))
SMALL = {"01_quiescence_vs_senescence.ipynb": 24, "02_rapamycin_dose.ipynb": 24, "03_split_hand_trial.ipynb": 24}
SIZE_LINE = re.compile(r"^SIZE = .*$", re.MULTILINE)


def small(nb, size: int):
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert SIZE_LINE.search(first.source), "the parameters cell must set SIZE"
    first.source = SIZE_LINE.sub(f"SIZE = {size}  # set by tests/test_notebooks.py", first.source, count=1)
    return nb


def test_there_are_three_lessons_and_a_readme():
    assert [p.name for p in NOTEBOOKS] == sorted(SMALL)
    readme = (TEACHING / "README.md").read_text()
    for path in NOTEBOOKS:
        assert path.name in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_question_comes_before_the_answer(path):
    nb = nbformat.read(path, as_version=4)
    texts = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    question = next(i for i, t in enumerate(texts) if t.lstrip("# ").startswith("Question"))
    answer = next(i for i, t in enumerate(texts) if t.lstrip("# ").startswith("Answer"))
    assert question < answer


def generator():
    sys.path.insert(0, str(TEACHING))
    try:
        import make_notebooks
    finally:
        sys.path.remove(str(TEACHING))
    return make_notebooks


REGENERATE = "run `python experiments/teaching/make_notebooks.py` and commit the notebooks"


def test_notebooks_are_generated_from_make_notebooks(tmp_path):
    make_notebooks = generator()
    for path in make_notebooks.write_all(tmp_path, run=False):
        committed = nbformat.read(TEACHING / path.name, as_version=4)
        fresh = nbformat.read(path, as_version=4)
        assert [c.source for c in committed.cells] == [c.source for c in fresh.cells], (
            f"{path.name} differs from make_notebooks.py: {REGENERATE}"
        )


def outputs(cell) -> list:
    return cell.get("outputs", []) if cell.cell_type == "code" else []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebooks_show_their_figures(path):
    """Stored executed: a reader sees the figures before running anything."""
    nb = nbformat.read(path, as_version=4)
    drawing = [cell for cell in nb.cells if cell.cell_type == "code" and "plt.subplots" in cell.source]
    assert drawing, f"{path.name} draws no figure"
    for cell in drawing:
        assert any("image/png" in out.get("data", {}) for out in outputs(cell)), f"{path.name}: {REGENERATE}"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code), f"{path.name}: not every cell ran"
    assert not [out for cell in code for out in outputs(cell) if out.get("output_type") == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_come_from_todays_sources(path):
    """The outputs were computed from the sources make_notebooks.py writes now, not older ones."""
    make_notebooks = generator()
    stored = nbformat.read(path, as_version=4)
    recorded = stored.metadata.get("geroconvert", {}).get("source_sha256")
    assert recorded == make_notebooks.source_digest(stored), f"{path.name}: edited by hand? {REGENERATE}"
    assert recorded == make_notebooks.source_digest(make_notebooks.build(path.name)), f"{path.name}: {REGENERATE}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_figures_stay_small(path):
    """72 dpi PNGs: a lesson stays well under 200 kB in the repository."""
    assert path.stat().st_size < 200_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_small(path, tmp_path):
    nb = small(nbformat.read(path, as_version=4), SMALL[path.name])
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on any error
    wall = time.perf_counter() - start
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    images = sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert images >= 1, "each lesson draws at least one figure"
    # about 5-15 s each with numba's cache warm; the first run in a fresh clone also compiles
    print(f"{path.name}: {wall:.1f} s at SIZE={SMALL[path.name]}")
