"""Human interfollicular epidermis (cross-section), with optional dermal fibroblasts."""

VALUES = {
    "cycle_h": (311.0, "basal keratinocyte cycle time (Weinstein, McCullough & Ross 1984)"),
    "rest_mean_h": (0.0, "no G0 rest: the ~40% of basal cells out of the cycle are exhausted progenitors "
                         "waiting to delaminate (tuned with stem_fraction to the 60% growth fraction of "
                         "Weinstein, McCullough & Ross 1984; tests/test_skin.py checks it)"),
    "stem_fraction": (0.22, "stem share of basal cells at start; 0.22 gives the 60% growth fraction with "
                            "1-5 progenitor divisions (assumption; 0.05-0.2 is often quoted)"),
    "stem_cycle_factor": (1.0, "assumption: stem and progenitor cycle alike (range 1-3)"),
    "contact_inhibition_max": (0.0, "basal cells are not contact-inhibited by suprabasal neighbours (assumption)"),
    "progenitor_divisions_min": (1, "transit-amplifying 1-5 divisions (Jones & Watt 1993)"),
    "progenitor_divisions_max": (5, "transit-amplifying 1-5 divisions (Jones & Watt 1993)"),
    "transit_h": (336.0, "~14 days from basal layer to surface (BioNumbers 111965, summary)"),
    "inducer_to_p21": (0.0, "no inducer in tissue"),
    "stem_renew_into_gap": (0.0, "stem number is set by the niche: a lost stem cell is not replaced (assumption; "
                                  "Castilho et al. 2009 see the stem compartment lost, not refilled)"),
    "clearance_beta_per_h": (0.15 / 24.0, "beta = 0.15/day (Karin et al. 2019, Nat Commun 10:5495)"),
    "clearance_kappa": (0.5, "kappa = 0.5 (Karin et al. 2019)"),
    "p16_tau_h": (2000.0, "p16 is stable in tissue (assumption)"),
    "p16_rise_arrested_per_h": (0.0002, "p16 rises slowly in arrested cells; slow enough that a damaged cell "
                                        "whose p16 fades before it geroconverts resumes (assumption)"),
    "damage_per_division": (0.01, "replication-stress damage per division (assumption, 1e-4 to 1e-2)"),
    "damage_p16_jump": (0.35, "persistent p16 per damage event (telomere-like damage); two events close "
                              "in time block the cycle (assumption, 0.2-0.5)"),
    "clearance_burden_ref": (0.002, "senescent fraction taken as one Karin burden unit, so that removal "
                                    "saturates at the few-per-thousand burdens of aged skin (assumption)"),
    "hypertrophy_rate_per_h": (0.005, "slow growth of arrested cells in tissue (assumption)"),
    "gero_rate_per_h": (0.01786 / 10.0, "tissue mTOR is far below culture in serum (assumption: 10-fold)"),
    "fibroblast_cycle_h": (2000.0, "dermal fibroblasts rarely divide (assumption)"),
    "sasp_to_p21": (0.2, "paracrine senescence (assumption)"),
    "sasp_diffusion_per_h": (0.05, "slower spread through tissue than in a culture dish (assumption)"),
}
