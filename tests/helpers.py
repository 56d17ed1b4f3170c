"""Small parameter sets shared by the behaviour tests."""

from geroconvert.parameters import paramsets
from geroconvert.parameters.models import Params

# an HT-p21 dish small enough to run in well under a second
SMALL_DISH = {"width": 40, "height": 40, "initial_density": 0.25}


def ht_p21(hours=96.0, environment=None, simulation=None, cells=None, rpp_times=()):
    params = Params(cells=paramsets.cells("ht_p21", cells or {}))
    return params.with_changes(
        simulation={**SMALL_DISH, "hours": hours, **(simulation or {})},
        environment={"inducer": 1.0, **(environment or {})},
        assays={"rpp_times_h": tuple(rpp_times)},
    )


def epidermis(hours=2000.0, environment=None, simulation=None, cells=None):
    params = Params(cells=paramsets.cells("human_epidermis", cells or {}))
    return params.with_changes(
        simulation={
            "geometry": "epidermis",
            "width": 40,
            "height": 12,
            "dermis_rows": 2,
            "initial_thickness_rows": 3,
            "initial_density": 0.3,
            "dt_h": 2.0,
            "hours": hours,
            "record_every_h": 24.0,
            **(simulation or {}),
        },
        environment={"damage_rate_per_h": 2e-4, **(environment or {})},
    )


# command-line options that make any packaged config a run of a fraction of a second
TINY_RUN = [
    "--set",
    "simulation.width=8",
    "--set",
    "simulation.height=8",
    "--set",
    "simulation.hours=2",
    "--set",
    "assays.rpp_times_h=[]",
    "--quiet",
]


# what differs between two runs of one config and seed: when and how fast they ran, and
# which software session wrote them (archive schema 2: /runs/wall_s, /summary/compile_s, ...)
VOLATILE_DATASETS = ("wall_s", "compile_s", "created_utc", "session")


def archive_results(path) -> dict:
    """Every result dataset of an archive (``group/name`` -> array), read with plain h5py,
    without the volatile ones (timings, write times, software sessions)."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        for group in ("runs", "summary", "timeseries", "rpp", "events"):
            for name, dataset in f[group].items():
                if name not in VOLATILE_DATASETS:
                    out[f"{group}/{name}"] = dataset[()]
        if "snapshots" in f:

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    out[f"snapshots/{name}"] = obj[()]

            f["snapshots"].visititems(visit)
    return out
