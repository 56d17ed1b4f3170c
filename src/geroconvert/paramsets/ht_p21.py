"""HT1080 fibrosarcoma cells with IPTG-inducible p21 (HT-p21, clone HT1080-p21-9).

The CellParams defaults are this line; the values below are the ones that define it
and the calibrated geroconversion constants (see ``geroconvert.calibration``).
"""

VALUES = {
    "inducer_to_p21": (1.0, "IPTG drives p21 (Leontieva & Blagosklonny 2013, Cell Cycle 12:3063)"),
    "inducer_to_p16": (0.0, "p21 line"),
    "clearance_beta_per_h": (0.0, "no immune cells in culture"),
    "p16_rise_age_per_h": (0.0, "no organismal ageing in culture"),
}
