"""HT1080 cells with IPTG-inducible p16 (HT-p16): the same line, the other switch."""

VALUES = {
    "inducer_to_p21": (0.0, "setting: the p16 line; IPTG drives p16, not p21 (Leontieva & Blagosklonny 2013)"),
    "inducer_to_p16": (1.0, "IPTG drives p16 (Leontieva & Blagosklonny 2013, Cell Cycle 12:3063)"),
    "p16_tau_h": (4.0, "assumption: ectopic p16 falls after IPTG washout; the RPP assay needs it to"),
    "clearance_beta_per_h": (0.0, "setting: no immune cells in culture"),
}
