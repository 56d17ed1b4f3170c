"""Figures and numbers of the skin experiments, from their archives in out/.

geroconvert run   configs/epidermis_aging.toml     -o out/epidermis_aging.h5 --overwrite
geroconvert sweep configs/stem_exhaustion.toml     -o out/stem_exhaustion.h5 --overwrite
geroconvert sweep configs/topical_vs_systemic.toml -o out/topical_vs_systemic.h5 --overwrite
python experiments/skin_figures.py
"""

from pathlib import Path

import numpy as np

from geroconvert.analysis import skin_plots
from geroconvert.archive.hdf5 import read_run
from geroconvert.config import load_config
from geroconvert.core import dosing
from geroconvert.studies.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out"
HERE = Path(__file__).resolve().parent
YEAR = 8766.0


def aging():
    ts = read_run(OUT / "epidermis_aging.h5", "run0")["timeseries"]
    skin_plots.aging(ts, 20.0, HERE / "epidermis_aging" / "aging")
    age = 20 + ts["time_h"] / YEAR
    print("ageing by decade: p16+ % (epidermis, dermis), senescent %, half-life d, stems, suprabasal/column")
    for lo in range(20, 80, 10):
        m = (age >= lo) & (age < lo + 10)
        print(
            f"  {lo}-{lo + 10}: {100 * ts['p16_positive_fraction_epidermis'][m].mean():.2f} "
            f"{100 * ts['p16_positive_fraction_dermis'][m].mean():.2f}  "
            f"{100 * ts['senescent_fraction'][m].mean():.3f}  {np.nanmedian(ts['senescent_half_life_h'][m]) / 24:.1f}  "
            f"{ts['n_stem'][m].mean():.0f}  {ts['thickness_rows'][m].mean():.2f}"
        )


def arms(name, labels):
    data = load_sweep(OUT / f"{name}.h5")
    series = {}
    for point, label in zip(data.grid_points(), labels):
        runs = data.runs_at(point)
        series[label] = {key: values[runs].mean(axis=0) for key, values in data.series.items()}
        series[label]["time_h"] = data.series_time_h
    return data, series


def stem_exhaustion():
    _, series = arms("stem_exhaustion", ["control", "mTOR gain 3 (Wnt1-like)", "gain 3 + rapamycin 10 ng/mL"])
    skin_plots.arms(series, HERE / "stem_exhaustion" / "stem_exhaustion", "mTOR-hyperactive epidermis")
    print("stem exhaustion: arm, divisions in year 1, peak suprabasal/column, stems at 5/10/20 y, thickness at 20 y")
    for label, ts in series.items():
        years = ts["time_h"] / YEAR
        first = years <= 1
        at = [ts["n_stem"][np.argmin(abs(years - y))] for y in (5, 10, 20)]
        print(
            f"  {label}: {ts['events_divisions'][first].sum():.0f}  {ts['thickness_rows'][1:].max():.2f}  "
            f"{at[0]:.0f}/{at[1]:.0f}/{at[2]:.0f}  {ts['thickness_rows'][-4:].mean():.2f}"
        )


def topical_vs_systemic():
    labels = ["none", "cream 10 uM daily", "cream 0.015% daily", "blood 1 ng/mL", "blood 10 ng/mL"]
    data, series = arms("topical_vs_systemic", labels)
    base = load_config(ROOT / "configs/topical_vs_systemic.toml")
    print(
        "topical vs systemic: arm, basal-layer rapamycin nM (mean over a day), blood ng/mL, p16+ % and senescent % "
        "(mean of months 10-12)"
    )
    figure_arms = []
    for point, label in zip(data.grid_points(), labels):
        over = dict(zip(sorted(data.swept), point))
        d = base.params.dosing.model_copy(update={k.split(".")[1]: v for k, v in over.items()})
        rows = base.params.simulation.dermis_rows
        day = np.arange(24 * 30, 24 * 31, 1.0)
        basal = np.mean([dosing.rapamycin_rows_nM(d, base.params.environment, t, 16, rows, True)[rows] for t in day])
        blood = d.blood_ng_per_mL + np.mean([dosing.topical_blood_ng_per_mL(d, t) for t in day])
        ts = series[label]
        print(
            f"  {label}: {basal:.3g} nM  {blood:.3g} ng/mL  {100 * ts['p16_positive_fraction'][-3:].mean():.2f}  "
            f"{100 * ts['senescent_fraction'][-3:].mean():.3f}"
        )
        figure_arms.append({"label": label, "basal_nM": basal, "blood_ng_per_mL": blood, "ts": ts})
    start_age = base.params.simulation.start_age_years
    path = skin_plots.topical_vs_systemic(figure_arms, HERE / "topical_vs_systemic" / "topical_vs_systemic", start_age)
    print(f"  figure: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    for job in (aging, stem_exhaustion, topical_vs_systemic):
        try:
            job()
        except FileNotFoundError as error:
            print(f"{job.__name__}: skipped ({error})")
