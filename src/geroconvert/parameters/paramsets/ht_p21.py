"""HT1080 fibrosarcoma cells with IPTG-inducible p21 (HT-p21, clone HT1080-p21-9).

The CellParams defaults are this line; the values below are the ones that define it
and the calibrated geroconversion constants (see ``geroconvert.studies.calibration``).
"""

# Fitted by `python -m geroconvert.studies.calibration --replicates 4` (4 seeds, HT-p21 protocol only);
# the run's numbers are in experiments/calibration/calibration.json.  Achieved: control
# t50 = 59.9 h, RPP(72 h) = 0.197, slowdown by rapamycin 500 nM = 3.01.
CALIBRATION = "python -m geroconvert.studies.calibration (experiments/calibration/calibration.json)"

VALUES = {
    "gero_rate_per_h": (0.01786, "fitted: control t50 = 60 h (Leontieva & Blagosklonny 2013); " + CALIBRATION),
    "gero_threshold_sigma": (0.1762, "fitted: control RPP(72 h) = 0.2, 'mostly lost by day 3'; " + CALIBRATION),
    "w_gero": (0.6544, "fitted: t50(rapamycin 500 nM)/t50(control) = 3 (Demidenko et al. 2009); " + CALIBRATION),
    "inducer_to_p21": (1.0, "IPTG drives p21 (Leontieva & Blagosklonny 2013, Cell Cycle 12:3063)"),
    "inducer_to_p16": (0.0, "p21 line"),
    "clearance_beta_per_h": (0.0, "no immune cells in culture"),
    "p16_rise_age_per_h": (0.0, "no organismal ageing in culture"),
}
