"""Physical constants and unit conversions, each defined once for the whole package."""

import math

HOURS_PER_YEAR = 8766.0  # h: 365.25 days, the Julian year
HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0  # h: a twelfth of a Julian year
LN2 = math.log(2.0)  # doublings <-> e-folds (cell growth, half-lives)
RAPAMYCIN_G_PER_MOL = 914.2  # g/mol, molar mass of sirolimus (C51H79NO13): 1 ng/mL = 1.094 nM
