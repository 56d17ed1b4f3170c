"""Numbers from results: t50, RPP bands, paired slowdown factors, Hill/EC50 fits.

One import for all of them; they live in :mod:`~geroconvert.analysis.intervals` (t50
intervals, RPP bands, paired slowdown), :mod:`~geroconvert.analysis.hill` (the Hill fit)
and :mod:`~geroconvert.analysis.sweep_readouts` (dose response and hypertrophy of a
sweep); ``t50`` and ``censor_time`` come from :mod:`geroconvert.core.readouts`.

Pure functions on arrays (NumPy/SciPy, no I/O).  Units: times in hours (``_h``),
concentrations in nM (``_nM``), RPP and other fractions in 0-1, slowdown factors
dimensionless (t50 treated / t50 control).

Statistical choices, in one place:

* **t50** is the first time the RPP curve falls to ``level`` (linear interpolation).
  A curve that never falls that low within the measured times is *right-censored*:
  its t50 is NaN and the last measured time is a lower bound.
* **Intervals over replicates** are percentile bootstraps that resample whole
  replicates (a replicate = one seed, shared by every grid point), so the pairing
  by common random numbers is kept inside each resample.  With very few replicates
  (2 or 3) a bootstrap has only a handful of distinct resamples: the interval is
  then crude and is best read as "the spread of the replicates".
* **Slowdown** at a dose is the *geometric mean of the per-replicate ratios*
  t50(treated, seed r) / t50(control, seed r).  Ratios are averaged on the log
  scale because they are ratios (a 2-fold and a 0.5-fold change cancel), and
  pairing by seed removes most of the between-seed noise.
* **Hill fit**: slowdown(C) = 1 + (Smax - 1) C^h / (C^h + EC50^h), least squares
  (``scipy.optimize.curve_fit``) in the parameters (log10 EC50, Smax, h) with
  bounds.  Censored responses are lower bounds: they enter the fit only when the
  curve would pass below them (one-sided residual, solved by an active set).
"""

from geroconvert.analysis.hill import HillFit, fit_hill, hill_slowdown
from geroconvert.analysis.intervals import PairedSlowdown, T50Interval, paired_slowdown, rpp_band, t50_interval
from geroconvert.analysis.sweep_readouts import DoseResponse, dose_response, hypertrophy
from geroconvert.core.readouts import censor_time, summarise, t50

__all__ = [
    "t50",
    "censor_time",
    "summarise",
    "T50Interval",
    "t50_interval",
    "rpp_band",
    "PairedSlowdown",
    "paired_slowdown",
    "hill_slowdown",
    "HillFit",
    "fit_hill",
    "DoseResponse",
    "dose_response",
    "hypertrophy",
]
