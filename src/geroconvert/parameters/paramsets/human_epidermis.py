"""Human interfollicular epidermis (cross-section), with optional dermal fibroblasts."""

from geroconvert.parameters.calibrated import CALIBRATED

VALUES = {
    "cycle_h": (
        190.0,
        "transit-amplifying cycle at full mTOR drive; with stem cells cycling ~3x slower "
        "(stem_mtor_factor) the mean basal cycle time is ~300 h, as measured "
        "(311 h, Weinstein et al. 1984; tests/studies/test_skin.py checks it)",
    ),
    "rest_mean_h": (
        0.0,
        "no G0 rest: the ~40% of basal cells out of the cycle are exhausted progenitors "
        "waiting to delaminate (tuned with stem_fraction to the 60% growth fraction of "
        "Weinstein et al. 1984; tests/studies/test_skin.py checks it)",
    ),
    "stem_fraction": (
        0.32,
        "assumption: stem share of basal cells at start; 0.32 gives the 60% growth "
        "fraction (Weinstein et al. 1984) with 1-5 progenitor divisions and slow stem cells "
        "(0.05-0.3 is quoted)",
    ),
    "stem_cycle_factor": (1.0, "assumption: stem and progenitor cycle alike (range 1-3)"),
    "contact_inhibition_max": (0.0, "assumption: basal cells are not contact-inhibited by suprabasal neighbours"),
    "progenitor_divisions_min": (1, "transit-amplifying 1-5 divisions (Jones & Watt 1993)"),
    "progenitor_divisions_max": (5, "transit-amplifying 1-5 divisions (Jones & Watt 1993)"),
    "transit_h": (336.0, "~14 days from basal layer to surface (BioNumbers 111965, summary)"),
    "inducer_to_p21": (0.0, "setting: no inducer in tissue"),
    "stem_renew_into_gap": (
        0.0,
        "assumption: stem number is set by the niche, so a lost stem cell is not "
        "replaced (Castilho et al. 2009 see the stem compartment lost, not refilled)",
    ),
    "clearance_beta_per_h": (0.15 / 24.0, "beta = 0.15/day (Karin et al. 2019, Nat Commun 10:5495)"),
    "clearance_kappa": (0.5, "kappa = 0.5 (Karin et al. 2019)"),
    "p16_tau_h": (2000.0, "assumption: p16 is stable in tissue"),
    "p16_rise_arrested_per_h": (
        0.0002,
        "assumption: p16 rises slowly in arrested cells, in proportion to mTOR: at "
        "full drive a damaged cell stays arrested about as long as it takes to "
        "geroconvert, so about half of them do",
    ),
    "damage_per_division": (0.01, "assumption: replication-stress damage per division (plausible 1e-4 to 1e-2)"),
    "damage_p16_jump": (
        0.6,
        "assumption: p16 per damage event (telomere-like damage): enough to arrest "
        "(above p16_threshold 0.5) but below the p16-high stain",
    ),
    "p16_positive": (
        0.7,
        "assumption: p16-high cells are scored: strong nuclear stain, reached by cells "
        "that stay arrested under mTOR and by senescent cells, not by a fresh damage hit "
        "(Waaijer et al. 2012 count p16INK4a-positive cells)",
    ),
    "stem_mtor_factor": (
        0.3,
        "assumption: quiescent epidermal stem cells keep mTORC1 low; a Wnt1-like gain "
        "raises it and exhausts them (Castilho et al. 2009); the factor is not measured",
    ),
    "clearance_burden_ref": (
        0.005,
        "assumption: senescent fraction taken as one burden unit of Karin et al. "
        "2019, so that removal saturates at the burdens of aged skin",
    ),
    "hypertrophy_rate_per_h": (0.005, "assumption: slow growth of arrested cells in tissue"),
    "gero_rate_per_h": (
        CALIBRATED["gero_rate_per_h"] / 10.0,
        "assumption: tissue mTOR is far below culture in serum (10-fold)",
    ),
    "fibroblast_cycle_h": (2000.0, "assumption: dermal fibroblasts rarely divide"),
    "sasp_to_p21": (0.2, "assumption: paracrine senescence"),
    "sasp_diffusion_per_h": (0.05, "assumption: slower spread through tissue than in a culture dish"),
}
