"""HT1080 fibrosarcoma cells with IPTG-inducible p21 (HT-p21, clone HT1080-p21-9).

The CellParams defaults are this line; the values below are the ones that define it
and the calibrated geroconversion constants (see ``geroconvert.studies.calibration``).
"""

from geroconvert.parameters.calibrated import CALIBRATED

# Fitted by `python -m geroconvert.studies.calibration --replicates 4` (4 seeds, HT-p21 protocol only);
# the run's numbers are in experiments/calibration/calibration.json.  Achieved: control
# t50 = 59.9 h, RPP(72 h) = 0.197, slowdown by rapamycin 500 nM = 3.01.
CALIBRATION = "python -m geroconvert.studies.calibration (experiments/calibration/calibration.json)"

VALUES = {
    "gero_rate_per_h": (
        CALIBRATED["gero_rate_per_h"],
        "fitted: control t50 = 60 h (Leontieva & Blagosklonny 2013); " + CALIBRATION,
    ),
    "gero_threshold_sigma": (
        CALIBRATED["gero_threshold_sigma"],
        "fitted: control RPP(72 h) = 0.2, 'mostly lost by day 3' (Leontieva & "
        "Blagosklonny 2013; 0.2 for 'mostly' is an assumption); " + CALIBRATION,
    ),
    "w_gero": (
        CALIBRATED["w_gero"],
        "fitted: t50(rapamycin 500 nM)/t50(control) = 3 (Demidenko et al. 2009); " + CALIBRATION,
    ),
    "inducer_to_p21": (1.0, "IPTG drives p21 (Leontieva & Blagosklonny 2013, Cell Cycle 12:3063)"),
    "inducer_to_p16": (0.0, "setting: the p21 line; IPTG drives p21, not p16 (Leontieva & Blagosklonny 2013)"),
    "clearance_beta_per_h": (0.0, "setting: no immune cells in culture"),
    "p16_rise_age_per_h": (0.0, "setting: no organismal ageing in culture"),
}
