"""Write the teaching notebooks, executed, with nbformat and nbclient:  python make_notebooks.py

The notebooks are generated so that their text and code stay reviewable here; edit
this file, run it (about a minute: every lesson runs at its full ``SIZE``), and commit
both.  The stored notebooks carry their outputs, so they show their figures before
anyone runs them; ``metadata.geroconvert.source_sha256`` records the sources the outputs
came from.  Each notebook's first code cell holds its parameters (``SIZE`` first) so
tests can run it small (tests/test_notebooks.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def parameters(text: str):
    cell = new_code_cell(text.strip())
    cell.metadata["tags"] = ["parameters"]
    return cell


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


LESSON_1 = [
    md("""
# Lesson 1: quiescence or senescence? The same arrest with mTOR on and off

A cell whose cycle is blocked by a CDK inhibitor (here p21, switched on by IPTG in the
HT-p21 line) stops dividing. What happens next depends on mTOR. If mTOR stays active
the arrested cell keeps growing without dividing ("twisted growth") and, over about
three days, loses its ability to divide again when the block is lifted: it has
**geroconverted** into senescence. If mTOR is low during the arrest, the cell stays
**quiescent** and resumes dividing once the block goes away.

We run the same experiment in two dishes of the model (`geroconvert.interfaces.mesa_model.GeroModel`,
a Mesa model over the simulation engine):

* **mTOR on**: full serum, no drug;
* **mTOR off**: the same, plus a catalytic mTOR inhibitor (Torin1-like, 30 nM) that blocks
  both mTOR branches.

The inducer is on from t = 0 to 72 h, then washed out; we follow both dishes to 144 h and
measure the re-proliferative potential (RPP, a virtual colony-formation assay) at 72 h.
"""),
    parameters("""
SIZE = 64          # the dish is SIZE x SIZE sites (tests run it at 24)
SEED = 1           # both dishes share it: same cells, same random numbers
WASHOUT_H = 72.0   # inducer off
END_H = 144.0
"""),
    code("""
import matplotlib.pyplot as plt
import numpy as np

from geroconvert.parameters import paramsets
from geroconvert.interfaces.mesa_model import GeroModel
from geroconvert.parameters.models import Params

base = Params(cells=paramsets.cells("ht_p21")).with_changes(
    simulation={"width": SIZE, "height": SIZE, "initial_density": 0.15},
    environment={"inducer": 1.0},
    assays={"max_cells": 200})

arms = {
    "mTOR on": GeroModel(params=base, seed=SEED),
    "mTOR off (pan-mTOR 30 nM)": GeroModel(params=base, seed=SEED, pan_mtor_nM=30.0),
}
for model in arms.values():
    model.schedule(WASHOUT_H, inducer=0.0, pan_mtor_nM=0.0)   # wash out inducer and drug
print({name: model.readout["n_cells"] for name, model in arms.items()})
"""),
    md("""
## Question (answer before you run the next cells)

Both dishes get exactly the same p21 arrest for three days.

1. At 72 h, in which dish are the arrested cells **bigger**?
2. After the washout at 72 h, in which dish do the cells **divide again**?
3. What do you expect the RPP at 72 h to be in each dish (close to 1, or close to 0)?

Write your predictions down, then run on.
"""),
    code("""
rpp_72 = {}
for name, model in arms.items():
    model.run_for(WASHOUT_H)
    rpp_72[name] = model.assay_rpp()          # colony-formation assay on the cells at 72 h
    model.run_for(END_H - WASHOUT_H)
frames = {name: model.dataframe() for name, model in arms.items()}
"""),
    code("""
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for name, frame in frames.items():
    axes[0].plot(frame["time_h"], frame["mean_mass"], label=name)
    axes[1].plot(frame["time_h"], frame["senescent_fraction"], label=name)
    axes[2].plot(frame["time_h"], frame["n_cycling"], label=name)
for ax, title in zip(axes, ("mean cell mass (newborn = 1)", "senescent fraction", "cycling cells")):
    ax.axvline(WASHOUT_H, color="0.6", ls="--", lw=1)
    ax.set_title(title)
    ax.set_xlabel("time (h)")
axes[0].legend()
plt.tight_layout()
"""),
    code("""
at = lambda frame, t, col: float(frame.loc[(frame["time_h"] - t).abs().idxmin(), col])
print(f"{'':28s} {'mass at 72 h':>13s} {'RPP at 72 h':>12s} {'senescent at 144 h':>19s} {'cells 72->144 h':>16s}")
for name, frame in frames.items():
    print(f"{name:28s} {at(frame, WASHOUT_H, 'mean_mass'):13.2f} {rpp_72[name]:12.2f} "
          f"{at(frame, END_H, 'senescent_fraction'):19.2f} "
          f"{int(at(frame, WASHOUT_H, 'n_cells')):>7d} -> {int(at(frame, END_H, 'n_cells'))}")
"""),
    md("""
## Answer

* **Size.** With mTOR on, arrested cells keep growing: by 72 h they are several times
  their newborn mass (hypertrophy, the "large, flat" senescent morphology). With mTOR
  off they barely grow.
* **Fate.** With mTOR on, most cells pass their geroconversion threshold during the
  three days of arrest: they are senescent, RPP at 72 h is low, and after the washout
  they stay single and large. With mTOR off the same arrest leaves them quiescent: RPP
  stays near 1 and the dish regrows after the washout.
* **The lesson.** The cell-cycle block alone does not make a cell senescent; it is the
  growth (mTOR) during the block that converts the arrest into senescence. Drugs and
  conditions that lower mTOR during an arrest are *gerosuppressive*.

**Try it yourself.** Replace the pan-mTOR inhibitor by hypoxia (`oxygen=0.05`), serum
starvation (`mitogen=0.0`) or rapamycin (`rapamycin_nM=500`), and compare. Which one
protects RPP best, and which one stops the hypertrophy best? (Lesson 2 explains why
they differ.)
"""),
]


LESSON_2 = [
    md("""
# Lesson 2: rapamycin dose and the 3-fold slowing of geroconversion

mTOR signals through two branches: **S6K** (fully blocked by rapamycin, even at
sub-nanomolar doses) and **4E-BP1** (largely rapamycin-resistant: rapamycin inhibits it
only partially and transiently). Geroconversion in the model reads a mix of both
(`w_gero` = S6K share, calibrated so that saturating rapamycin slows the loss of RPP
about **3-fold** in the HT-p21 protocol, as in the experiments).

We run the HT-p21 protocol (inducer on at t = 0) at several rapamycin doses, measure RPP
every 12 h, and find `t50`, the time at which RPP falls to 50%.
"""),
    parameters("""
SIZE = 64                                        # dish side (tests run it at 24)
SEED = 1
DOSES_NM = (0.0, 0.3, 1.0, 3.0, 10.0, 100.0, 500.0)
PAN_MTOR_NM = 30.0                               # one arm with a catalytic inhibitor instead
HOURS = 288.0                                    # 12 days
"""),
    code("""
import math

import matplotlib.pyplot as plt
import numpy as np

from geroconvert.parameters import paramsets
from geroconvert.analysis.stats import t50
from geroconvert.interfaces.mesa_model import GeroModel
from geroconvert.parameters.models import Params
from geroconvert.core.pharmacology import gero_drive_ratio

times = tuple(float(t) for t in np.arange(0.0, HOURS + 1e-9, 12.0))
base = Params(cells=paramsets.cells("ht_p21")).with_changes(
    simulation={"width": SIZE, "height": SIZE, "initial_density": 0.15},
    environment={"inducer": 1.0},
    assays={"rpp_times_h": times, "max_cells": 150})
"""),
    md("""
## Question (answer before you run on)

At 1 nM rapamycin S6K activity is already down by about two thirds, and at 10 nM by
more than 95%.

1. Going from 10 nM to 500 nM (50 times more drug), how much more does geroconversion slow?
2. What is the largest slowing rapamycin can give, and why is there a limit?
3. Will a catalytic (pan-)mTOR inhibitor at 30 nM do better or worse than 500 nM rapamycin?
"""),
    code("""
def rpp_curve(**environment):
    model = GeroModel(params=base, seed=SEED, **environment)
    model.run_for(HOURS)
    t = np.array([row[0] for row in model.rpp_rows])
    r = np.array([row[1] for row in model.rpp_rows])
    return t, r

curves = {dose: rpp_curve(rapamycin_nM=dose) for dose in DOSES_NM}
pan_curve = rpp_curve(pan_mtor_nM=PAN_MTOR_NM)
t50s = {dose: t50(*curve) for dose, curve in curves.items()}
t50_pan = t50(*pan_curve)
control = t50s[0.0]
"""),
    code("""
fig, (ax_rpp, ax_dose) = plt.subplots(1, 2, figsize=(12, 4))
for dose, (t, r) in curves.items():
    ax_rpp.plot(t, r, "o-", ms=3, label=f"rapamycin {dose:g} nM")
ax_rpp.plot(*pan_curve, "k--", label=f"pan-mTOR {PAN_MTOR_NM:g} nM")
ax_rpp.axhline(0.5, color="0.7", lw=1)
ax_rpp.set_xlabel("hours of arrest")
ax_rpp.set_ylabel("RPP (fraction forming colonies)")
ax_rpp.legend(fontsize=8)

doses = np.array([d for d in DOSES_NM if d > 0])
measured = np.array([t50s[d] / control for d in doses])
grid = np.logspace(-2, 3.5, 100)
predicted = 1.0 / gero_drive_ratio(base.cells, grid)   # an isolated cell's gero drive, without / with drug
ax_dose.semilogx(grid, predicted, color="0.5", label="prediction: 1 / gero-drive ratio")
ax_dose.semilogx(doses, measured, "o", label="measured: t50(dose) / t50(control)")
ax_dose.axhline(3.0, color="tab:red", lw=1, ls=":", label="about 3-fold (experiments)")
ax_dose.set_xlabel("rapamycin (nM)")
ax_dose.set_ylabel("slowing of RPP loss")
ax_dose.legend(fontsize=8)
plt.tight_layout()

fmt = lambda x: f"{x:6.0f} h" if math.isfinite(x) else f"> {HOURS:g} h"
for dose in DOSES_NM:
    print(f"rapamycin {dose:6g} nM: t50 {fmt(t50s[dose])}, slowing {t50s[dose] / control:4.1f}x")
slowing_pan = f"{t50_pan / control:4.1f}x" if math.isfinite(t50_pan) else f"more than {HOURS / control:.1f}x"
print(f"pan-mTOR {PAN_MTOR_NM:6g} nM: t50 {fmt(t50_pan)}, slowing {slowing_pan}")
"""),
    md("""
## Answer

* Rapamycin's effect **saturates**: most of the slowing is reached by 3-10 nM, and 50 times
  more drug adds little. The limit is about 3-fold because rapamycin only blocks the S6K
  branch; the rapamycin-resistant 4E-BP1 branch keeps driving geroconversion (the model's
  `w_gero` is the S6K share of that drive).
* The grey curve is what the rule predicts for a single isolated cell; the dots are the
  whole experiment, with its colony-formation assay, cell-to-cell variation in the
  geroconversion threshold and finite sampling. They should agree within the noise of a
  small dish (a larger `SIZE` gives smoother curves).
* A catalytic mTOR inhibitor blocks both branches, so at 30 nM it slows geroconversion far
  more than any dose of rapamycin; in this window RPP may not fall to 50% at all.
  Rapamycin slows but does not stop geroconversion; pan-mTOR inhibition nearly stops it
  (and also stops growth, which is why it is not a free lunch in tissue).

**Try it yourself.** Change `w_gero` (e.g. `paramsets.cells("ht_p21", {"w_gero": 0.9})`):
how does the maximal slowing follow? What `w_gero` would make rapamycin as good as
pan-mTOR inhibition?
"""),
    md("""
## The same experiment from a config, read with pandas

A study is usually a config file: `configs/rapamycin_dose_sweep.toml` holds a `[sweep]`
over the dose. `run_sweep` writes every run into one archive, and `open_archive` gives its
RPP as an xarray Dataset (run x time) and its summary as a pandas DataFrame, one row per
run, the dose as a column.
"""),
    code("""
import tempfile
from pathlib import Path

import geroconvert as gc

small = [f"simulation.width={SIZE}", f"simulation.height={SIZE}", "sweep.replicates=1"]
loaded = gc.load_config("rapamycin_dose_sweep.toml", small)
sweep_file = Path(tempfile.mkdtemp()) / "rapamycin_dose_sweep.h5"
gc.run_sweep(loaded.mapping, sweep_file, workers=1)

archive = gc.open_archive(sweep_file)
rpp = archive.rpp["rpp"].to_dataframe().reset_index()   # run, time_h, dose, rpp, ...
by_dose = rpp.pivot_table(index="time_h", columns="environment.rapamycin_nM", values="rpp")
by_dose.plot(marker="o", ms=3, ylabel="RPP", title="RPP per rapamycin dose (nM), from the archive")
archive.summary[["environment.rapamycin_nM", "t50_h"]]
"""),
]


LESSON_3 = [
    md("""
# Lesson 3: the split-hand trial: reversal or slowing?

In a small clinical trial, topical rapamycin cream on one hand (placebo on the other)
for several months lowered the number of p16-positive cells in aged skin. Did rapamycin
**reverse** senescence (p16+ cells turned back, or removed), or did it only **slow** the
appearance of new p16+ cells?

A simplified version in the model: a strip of human epidermis (a cross-section: dermal
fibroblasts, the basal layer of stem and progenitor cells, differentiating layers that are
shed at the top) ages for some years under a low rate of DNA damage (UV). Then we split
it into two "hands" that start from the *same* tissue and share their random numbers
(common random numbers: a paired comparison), and treat one with rapamycin for 8 months.

The cream is the model's topical dosing (`dosing.topical_uM`, 10 uM daily as in the
trial): each application brings the skin surface to a small fraction of the cream level,
which decays between applications and with depth, so the basal layer sees about 1 nM.
Ageing uses the `human_epidermis` parameter set (a DNA-damage event arrests a cell with p16
just below the p16-high stain; under mTOR the arrested cell turns p16-high and
geroconverts, unless its p16 fades first) with a damage rate of 1e-4 per cell-hour, a
teaching assumption: about ten times the calibrated skin-ageing rate, so that a small
strip has enough p16+ cells to count.
"""),
    parameters("""
SIZE = 120           # columns of epidermis (tests run it at 24)
YEARS = 10           # ageing before the trial
TRIAL_MONTHS = 8
CREAM_UM = 10.0      # topical rapamycin, daily (Chung et al. 2019 used 10 uM)
SEED = 3
"""),
    code("""
import matplotlib.pyplot as plt
import numpy as np

from geroconvert.parameters import paramsets
from geroconvert.core import layout as L
from geroconvert.interfaces.mesa_model import GeroModel
from geroconvert.parameters.models import Params

HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12
skin = Params(cells=paramsets.cells("human_epidermis")).with_changes(
    simulation={"geometry": "epidermis", "width": SIZE, "height": 12, "dermis_rows": 2,
                "initial_thickness_rows": 6, "initial_density": 0.3, "dt_h": 12.0},
    environment={"damage_rate_per_h": 1e-4})

aged = GeroModel(params=skin, seed=SEED)
aged.run_for(YEARS * HOURS_PER_YEAR)
print(f"after {YEARS} years: {aged.readout['n_cells']} cells, "
      f"p16+ fraction {aged.readout['p16_positive_fraction']:.3f}")
"""),
    code("""
def p16_positive_uids(model):
    cells = model.cells()
    return set(cells["uid"][cells["p16"] >= skin.cells.p16_positive].tolist())

hands = {
    "placebo": GeroModel(params=skin, seed=SEED + 1, state=aged.sim.state),
    "rapamycin": GeroModel(params=skin.with_changes(dosing={"topical_uM": CREAM_UM}), seed=SEED + 1,
                           state=aged.sim.state),
}
baseline = {name: p16_positive_uids(hand) for name, hand in hands.items()}
before = {name: hand.readout["p16_positive_fraction"] for name, hand in hands.items()}
"""),
    md("""
## Question (answer before you run on)

Both hands start from the same skin with the same p16+ fraction.

1. After 8 months, which comparison shows that the cream **works**: treated hand after vs
   before, or treated vs placebo hand after?
2. Which comparison tells **reversal** from **slowing**? What would each look like?
3. The model can follow every cell. Which cells would you look at to decide?
"""),
    code("""
for hand in hands.values():
    hand.run_for(TRIAL_MONTHS * HOURS_PER_MONTH)
after = {name: hand.readout["p16_positive_fraction"] for name, hand in hands.items()}

fig, ax = plt.subplots(figsize=(7, 3.6))
for name, hand in hands.items():
    frame = hand.dataframe()
    ax.plot(frame["time_h"] / HOURS_PER_MONTH, frame["p16_positive_fraction"], label=name)
ax.set_xlabel("months of treatment")
ax.set_ylabel("p16+ fraction")
ax.legend()
plt.tight_layout()

for name in hands:
    print(f"{name:10s}: p16+ {before[name]:.3f} before -> {after[name]:.3f} after "
          f"(change {after[name] - before[name]:+.3f})")
print(f"paired difference after (rapamycin - placebo): {after['rapamycin'] - after['placebo']:+.3f}")
"""),
    code("""
# inside the tissue: what happened to the p16+ cells present at the start, and how many are new?
for name, hand in hands.items():
    now = p16_positive_uids(hand)
    alive = set(hand.cells()["uid"].tolist())
    start = baseline[name]
    print(f"{name:10s}: of {len(start)} p16+ cells at the start, {len(start & now)} still p16+, "
          f"{len((start & alive) - now)} alive but p16-negative, {len(start - alive)} gone; "
          f"{len(now - start)} new p16+ cells")
    print(f"{'':10s}  events in the trial: {int(hand.sim.events[L.E_CONVERSIONS])} conversions to senescence, "
          f"{int(hand.sim.events[L.E_SENESCENT_LOST])} senescent cells removed")

if after["rapamycin"] < before["rapamycin"]:
    verdict = "a fall below the treated hand's own baseline: reversal at the tissue level"
elif after["rapamycin"] < after["placebo"]:
    verdict = "above its own baseline but below placebo: slowing, not reversal"
else:
    verdict = ("no benefit: the treated hand ends with as many p16+ cells as placebo or more "
               "(see 'When the model disagrees' below; try other seeds)")
print("verdict:", verdict)
"""),
    md("""
## Answer

* **Does it work?** Only the *paired* comparison answers this: treated hand against placebo
  hand at the same time, from the same starting skin. A before/after change in the treated
  hand alone mixes the drug's effect with whatever the skin does anyway over 8 months.
* **Reversal or slowing?** Compare the treated hand with *its own baseline*. Reversal means
  the p16+ fraction falls below where it started; slowing means it still rises (or stays),
  only less than under placebo. The trial reported a fall in p16; check the model's verdict
  line and the cell table, and run a few seeds before believing a small difference.
* **Looking inside.** The model tells how the p16+ count changed: cells that were p16+ at the
  start and were then lost (shed, cleared, dead) or lost their p16, against new cells that
  became p16+. Rapamycin cannot turn a senescent cell back (geroconversion is irreversible
  in the model); it acts by slowing conversion of arrested cells and the rise of new p16+
  cells, while turnover removes old ones. A fall below baseline therefore means turnover
  outpaced the (slowed) production, not that senescent cells were rejuvenated.
* **What the model predicts.** With these teaching parameters the treated hand usually
  falls below its own baseline: under the cream almost no new cells turn p16-high, while
  clearance and shedding keep removing the old ones. In the calibrated trial
  (`geroconvert trial configs/split_hand_trial.toml`, ten times less damage) the fall below
  baseline is smaller and not significant: the verdict depends on how fast p16-high cells
  turn over compared with 8 months. Which mechanism would make a real reversal possible
  (faster clearance, senescent cells that lose p16)?

**Try it yourself.** Run several seeds (participants) and look at the spread of the paired
difference; try a higher dose, or a longer ageing (`YEARS`); switch immune clearance off
(`clearance_beta_per_h=0`) and see whether the treated hand can still fall below baseline.
"""),
]


LESSONS = {
    "01_quiescence_vs_senescence.ipynb": LESSON_1,
    "02_rapamycin_dose.ipynb": LESSON_2,
    "03_split_hand_trial.ipynb": LESSON_3,
}


# The kernel draws at 72 dpi: the stored figures stay small (tens of kB) and still readable.
KERNEL_ARGUMENTS = ["--InlineBackend.rc={'figure.dpi': 72}"]


def source_digest(nb) -> str:
    """sha256 of a notebook's cell types and sources: what its stored outputs were computed from."""
    text = json.dumps([[cell.cell_type, cell.source] for cell in nb.cells])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build(name: str):
    """The notebook ``name`` without outputs, its cell ids numbered (stable across regenerations)."""
    cells = copy.deepcopy(LESSONS[name])  # executing fills cells in place; LESSONS stays clean
    for k, cell in enumerate(cells):
        cell["id"] = f"cell-{k:02d}"
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nb.metadata["geroconvert"] = {"source_sha256": source_digest(nb)}
    nbformat.validate(nb)
    return nb


def execute(nb, workdir: Path):
    """Run ``nb`` top to bottom in a fresh kernel (in ``workdir``), keeping its outputs."""
    import nbclient

    client = nbclient.NotebookClient(
        nb,
        timeout=1800,
        kernel_name="python3",
        record_timing=False,  # no timestamps: a rerun changes only what the code prints or draws
        extra_arguments=KERNEL_ARGUMENTS,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return nb


def write_all(directory: Path = HERE, run: bool = True) -> list[Path]:
    """Write every lesson into ``directory``, executed (``run``) so that it shows its figures."""
    paths = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in LESSONS:
            nb = build(name)
            if run:
                print(f"running {name} ...", flush=True)
                execute(nb, Path(workdir))
            path = directory / name
            nbformat.write(nb, path)
            paths.append(path)
    return paths


if __name__ == "__main__":
    for path in write_all():
        print("wrote", path)
