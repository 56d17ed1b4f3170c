"""Predictions with their credible bands: the validation cases over draws of a posterior.

    geroconvert validate --posterior POSTERIOR.h5 [--draws 20] [--quick]

Each draw is a set of the fitted constants, taken from the posterior by weight; the
in-vitro suite runs once per draw, with the same seeds (so the spread is the posterior's,
not the seeds').  Each case then has the median of its simulated values, the 5-95% band
over draws and the probability that it falls in the published band, and a verdict
(published band met in at least 95% of draws, in at most 5%, or "uncertain").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geroconvert.analysis.posterior_report import credible_band
from geroconvert.studies.validation import Case


@dataclass
class PredictiveCase:
    case: str
    published: str
    source: str
    low: float
    high: float
    values: list[float]  # one per draw
    passed: list[bool]
    note: str

    @property
    def band(self) -> tuple[float, float, float]:
        return credible_band(self.values)

    @property
    def probability(self) -> float:
        return float(np.mean(self.passed)) if self.passed else math.nan

    @property
    def verdict(self) -> str:
        p = self.probability
        return "holds" if p >= 0.95 else ("fails" if p <= 0.05 else "uncertain")

    def as_json(self) -> dict:
        low, median, high = self.band
        finite = [v if math.isfinite(v) else None for v in self.values]
        return {
            "case": self.case,
            "published": self.published,
            "source": self.source,
            "low": self.low if math.isfinite(self.low) else None,
            "high": self.high if math.isfinite(self.high) else None,
            "median": median,
            "band_5_95": [low, high],
            "probability_in_band": self.probability,
            "verdict": self.verdict,
            "values": finite,
            "note": self.note,
        }


def combine(per_draw: list[list[Case]], counts: list[int] | None = None) -> list[PredictiveCase]:
    """One predictive case per validation case, from the cases of every distinct particle drawn
    (same order), each counted as often as it was drawn (``counts``; default once)."""
    counts = counts or [1] * len(per_draw)
    out = []
    for j, first in enumerate(per_draw[0]):
        cases = [draw[j] for draw, n in zip(per_draw, counts) for _ in range(n)]
        if any(c.case != first.case for c in cases):
            raise ValueError(f"the draws' cases differ at {j}: {first.case!r}")
        out.append(
            PredictiveCase(
                first.case,
                first.published,
                first.source,
                first.low,
                first.high,
                [float(c.simulated) for c in cases],
                [bool(c.passed) for c in cases],
                first.note.split(";")[0],
            )
        )
    return out


def format_table(cases: list[PredictiveCase], draws: int) -> str:
    def num(x: float) -> str:
        return "n/a" if not math.isfinite(x) else f"{x:.3g}"

    lines = [f"{'case':<58}  {'median [5%, 95%] over ' + str(draws) + ' draws':<32}  {'band':<16}  P(in band)"]
    for c in cases:
        low, median, high = c.band
        band = f"{num(c.low)} to {num(c.high)}"
        lines.append(
            f"{c.case[:58]:<58}  {num(median) + ' [' + num(low) + ', ' + num(high) + ']':<32}  {band:<16}  "
            f"{c.probability:.2f} ({c.verdict})"
        )
    return "\n".join(lines)


def run(posterior, draws: int, size: str, workers: int | None, seed: int = 0, progress=None) -> list[PredictiveCase]:
    """The in-vitro suite once per posterior draw."""
    from geroconvert.parameters.paramsets import calibrated_overrides
    from geroconvert.studies import validation

    chosen = draws_of(posterior, draws, seed)
    per_draw = []
    for i, (values, _count) in enumerate(chosen):  # each distinct particle once
        cells = calibrated_overrides("ht_p21", cell_values(values))
        per_draw.append(validation.evaluate(validation.run_experiments(size, workers=workers, cells=cells)))
        if progress:
            progress(i + 1, len(chosen))
    return combine(per_draw, [count for _, count in chosen])


def draws_of(posterior, count: int, seed: int = 0) -> list[tuple[dict[str, float], int]]:
    """The posterior's distinct draws with their counts, a bad count being the user's mistake."""
    from geroconvert.errors import UsageError

    try:
        return posterior.draws(count, seed)
    except ValueError as error:
        raise UsageError(f"--draws: {error}") from None


def cell_values(draw: dict[str, float]) -> dict[str, float]:
    """A draw's ``cells.*`` paths as field names (a draw of another section is refused)."""
    from geroconvert.errors import UsageError

    out = {}
    for path, value in draw.items():
        section, _, name = path.partition(".")
        if section != "cells":
            raise UsageError(f"{path}: the posterior holds a value outside [cells]; only cell constants are drawn")
        out[name] = value
    return out


# ---- the split-hand trial over draws ----------------------------------------------------------
VERDICTS = ("reversal", "slowing", "no detectable effect")


def trial_summary(results: list, counts: list[int] | None = None) -> dict:
    """The trial's answers over posterior draws (``results``: one TrialResult per distinct
    particle, ``counts``: how many draws each stands for)."""
    results = [r for r, n in zip(results, counts or [1] * len(results)) for _ in range(n)]
    difference = [r.final_difference.mean for r in results]
    treated = [r.treated_change.mean for r in results]
    placebo = [r.placebo_change.mean for r in results]
    kinds = [verdict_kind(r.verdict) for r in results]
    band = {name: _band(values) for name, values in (
        ("treated_minus_placebo", difference), ("treated_change", treated), ("placebo_change", placebo)
    )}  # fmt: skip
    return {
        "draws": len(results),
        "measure": results[0].measure,
        **{f"{name}_points": [100 * v for v in values] for name, values in band.items()},
        "probability": {v: kinds.count(v) / len(kinds) for v in VERDICTS},
        "per_draw": [{"difference_points": 100 * d, "verdict": k} for d, k in zip(difference, kinds)],
    }


def verdict_kind(verdict: str) -> str:
    """The category of a trial's verdict text ("slowing: ..." -> "slowing")."""
    kind = next((v for v in VERDICTS if verdict.startswith(v)), None)
    if kind is None:
        raise ValueError(f"a trial verdict of an unknown kind: {verdict!r}")
    return kind


def _band(values: list[float]) -> list[float]:
    low, median, high = credible_band(values)
    return [median, low, high]


def trial_lines(summary: dict) -> list[str]:
    def text(name: str) -> str:
        median, low, high = summary[f"{name}_points"]
        return f"{median:+.3f} points [{low:+.3f}, {high:+.3f}]"

    p = summary["probability"]
    return [
        f"split-hand trial over {summary['draws']} posterior draws ({summary['measure']}; median [5%, 95%] over draws)",
        f"treated - placebo at the last visit: {text('treated_minus_placebo')}",
        f"treated hand, last visit - first: {text('treated_change')}",
        f"placebo hand, last visit - first: {text('placebo_change')}",
        "verdict probabilities: " + ", ".join(f"{v} {p[v]:.2f}" for v in VERDICTS),
    ]
