"""Files that ship inside the package: the example configs.

They are read through :mod:`importlib.resources`, so an installed wheel finds them as
well as a source checkout (where ``configs/`` at the top of the repository is a link to
``src/geroconvert/configs``).  A config can therefore be named three ways on the command
line or in :func:`geroconvert.load_config`: a path to any file, a packaged config's name
(``ht_p21`` or ``ht_p21.toml``), or ``configs/ht_p21.toml`` from anywhere.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CONFIG_PACKAGE = "geroconvert.configs"


def configs_folder() -> Path:
    """The folder of the packaged configs (a real folder: configs use relative ``extends``)."""
    return Path(str(resources.files(CONFIG_PACKAGE)))


def packaged_configs() -> dict[str, Path]:
    """Name (without ``.toml``) -> path of every packaged config, sorted by name."""
    return {path.stem: path for path in sorted(configs_folder().glob("*.toml"))}


def resolve_config(name: str | Path) -> Path:
    """``name`` itself when it is an existing file; else the packaged config it names; else
    ``name`` unchanged (the config loader then says it was not found)."""
    path = Path(name)
    if path.exists() or path.parent not in (Path("."), Path("configs")):
        return path  # a file, or a path elsewhere: never swapped for a packaged config
    stem = path.name.removesuffix(".toml")
    return packaged_configs().get(stem, path)
