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

from geroconvert.studies.validation import Case

CREDIBLE = (0.05, 0.5, 0.95)


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
        finite = np.array([v for v in self.values if math.isfinite(v)])
        if finite.size == 0:
            return math.nan, math.nan, math.nan
        low, median, high = np.quantile(finite, CREDIBLE)
        return float(low), float(median), float(high)

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


def combine(per_draw: list[list[Case]]) -> list[PredictiveCase]:
    """One predictive case per validation case, from the cases of every draw (same order)."""
    out = []
    for j, first in enumerate(per_draw[0]):
        cases = [draw[j] for draw in per_draw]
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
    from geroconvert.studies import validation

    per_draw = []
    for i, values in enumerate(draws_of(posterior, draws, seed)):
        cells = {path.split(".", 1)[1]: value for path, value in values.items()}
        per_draw.append(validation.evaluate(validation.run_experiments(size, workers=workers, cells=cells)))
        if progress:
            progress(i + 1, draws)
    return combine(per_draw)


def draws_of(posterior, count: int, seed: int = 0) -> list[dict[str, float]]:
    """The posterior's draws, a bad count being the user's mistake (one line)."""
    from geroconvert.errors import UsageError

    try:
        return posterior.draws(count, seed)
    except ValueError as error:
        raise UsageError(f"--draws: {error}") from None
