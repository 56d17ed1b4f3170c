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
    if path.is_file() or path.exists():
        return path
    stem = path.name[: -len(".toml")] if path.name.endswith(".toml") else path.name
    bare = path.parent == Path(".") or path.parent.name == "configs"
    packaged = packaged_configs().get(stem) if bare else None
    return packaged if packaged is not None else path
