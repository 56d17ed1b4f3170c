"""Integer codes and array layouts shared by the kernels, the engine and the reference.

Numba reads module-level integers as compile-time constants, so the kernels index
their parameter arrays with these names at no cost.
"""

# phase (uint8): EMPTY marks a free lattice site
EMPTY = 0
CYCLING = 1
ARRESTED = 2
SENESCENT = 3
N_PHASES = 4
PHASE_NAMES = ("empty", "cycling", "arrested", "senescent")

# kind (uint8)
STEM = 0
PROGENITOR = 1
DIFFERENTIATED = 2
FIBROBLAST = 3
LINE = 4
MELANOCYTE = 5  # a basal-layer pigment cell: long-lived, seldom dividing, never shed
N_KINDS = 6
KIND_NAMES = ("stem", "progenitor", "differentiated", "fibroblast", "line", "melanocyte")

# geometry
DISH = 0
EPIDERMIS = 1

# pending actions (uint8), decided in parallel and carried out in one ordered pass
NONE = 0
DIVIDE = 1
CLEAR = 2  # immune clearance of a senescent cell
DIE = 3  # death
SHED = 4  # differentiated cell leaves the tissue surface
DAMAGE_EXIT = 5  # an arrested progenitor differentiates and leaves the basal row

# random streams: one per kind of decision, so that draws never collide
S_INIT = 1
S_THRESHOLD_A = 2
S_THRESHOLD_B = 3
S_EVENTS = 4  # damage, clearance and death share one draw per cell and step
S_DIRECTION = 7
S_FATE = 8
S_DIVISIONS = 9
S_REST = 10
S_REPLICATION = 11
S_SAMPLE = 12
S_RENEW = 13

# event counters returned by a step (int64 vector)
E_DIVISIONS = 0
E_ARRESTS = 1
E_RESUMES = 2
E_CONVERSIONS = 3
E_CLEARANCES = 4
E_DEATHS = 5
E_SHED = 6
E_DIFFERENTIATIONS = 7
E_BIRTHS = 8  # cells added (daughters); equals divisions
E_SENESCENT_LOST = 9  # senescent cells removed by clearance, death or shedding
E_DAMAGE_EXITS = 10  # arrested progenitors that left by differentiating (also differentiations)
N_EVENTS = 11
EVENT_NAMES = (
    "divisions",
    "arrests",
    "resumes",
    "conversions",
    "clearances",
    "deaths",
    "shed",
    "differentiations",
    "births",
    "senescent_lost",
    "damage_exits",
)

# kernel constants (float64 vector, fixed for a run); see params.kernel_constants
K_DT = 0
K_CYCLE_H = 1
K_STEM_CYCLE_FACTOR = 2
K_REST_MEAN_H = 3
K_DIVISION_MASS = 4
K_MASS_MAX = 5
K_HYPERTROPHY_RATE = 6
K_CONTACT_MAX = 7
K_W_GERO = 8
K_W_GROW = 9
K_GERO_RATE = 10
K_THR_MEDIAN = 11
K_THR_SIGMA = 12
K_P21_RELAX = 13  # 1 - exp(-dt / tau)
K_P16_RELAX = 14
K_P21_THRESHOLD = 15
K_P16_THRESHOLD = 16
K_INDUCER_P21 = 17
K_INDUCER_P16 = 18
K_DAMAGE_P21 = 19
K_DAMAGE_P16 = 20
K_DAMAGE_PER_DIVISION = 21
K_SASP_P21 = 22
K_P16_RISE_ARRESTED = 23
K_P16_RISE_SENESCENT = 24
K_P16_RISE_AGE = 25
K_SASP_SECRETION = 26
K_SENESCENT_DEATH_P = 27  # per-step probability
K_DEATH_P = 28
K_STEM_RENEW_GAP = 29
K_STEM_SYMMETRIC_LOSS = 30
K_PROG_DIV_MIN = 31
K_PROG_DIV_MAX = 32
K_TRANSIT_H = 33
K_FIBROBLAST_CYCLE_H = 34
K_STEM_MTOR = 35  # stem cells' mTOR drive relative to other cells
K_DAMAGED_EXIT_P = 36  # per-step probability that an arrested progenitor differentiates
K_MELANOCYTE_CYCLE_H = 37
K_MELANOCYTE_FRACTION = 38  # the melanocytes' share of basal sites that their divisions restore
K_MELANOCYTE_REACH = 39  # basal sites either side over which a melanocyte counts melanocytes
K_MELANOCYTE_REMOVAL = 40  # senescent melanocytes' clearance and death relative to other senescent cells
K_STEM_FRACTION = 41  # the stem cells' share of basal sites that the niche restores
K_STEM_NICHE_REACH = 42  # basal sites either side over which a stem cell counts stem cells; 0: no niche
K_NEIGHBOURS = 43  # a site's von Neumann neighbours: 4 (a row under rows, or the dish), 6 (a sheet)
N_K = 44

# step inputs (float64 vector, recomputed from the environment every step)
P_DRIVE = 0  # m0 * mitogen * nutrients * hypoxia * gain
P_INDUCER = 1
P_DAMAGE_P = 2  # per-step probability of a damage event
P_CLEAR_P = 3  # per-step clearance probability of one senescent cell
N_P = 4
