"""The documentation inside the repository holds together.

* Every parameter's source text (the pydantic models and the named parameter sets) names
  a source that has an entry in ``docs/science.md``, or says what kind of value it is
  ("assumption:", "setting:", "normalisation:"); every author-year citation in it is
  such an entry; every assumption is listed in the page's Assumptions section.
* Every link in README.md, docs/*.md and experiments/*/README.md points to a file of the
  repository that exists (and, for a link into a Markdown file with ``#anchor``, to an
  anchor that exists there).
* No tracked text file points the reader to documents outside the repository.

Each check is a small function that returns what is wrong; the last tests feed those
functions bad input and require them to notice.
"""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from geroconvert.parameters import models, paramsets
from tests.conftest import ROOT

SCIENCE = ROOT / "docs" / "science.md"
KINDS = ("assumption", "setting", "normalisation")
# "Karin et al. 2019", "Leontieva & Blagosklonny 2013", "Blagosklonny 2019"
CITATION = re.compile(r"\b[A-Z][A-Za-z-]+(?: et al\.| & [A-Z][A-Za-z-]+)? (?:19|20)\d\d\b")


# ---- docs/science.md ------------------------------------------------------------------------
def section(text: str, title: str) -> str:
    """The body of the ``## title`` section of a Markdown page."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/science.md has no '## {title}' section"
    return match.group(1)


def science_keys(text: str | None = None) -> list[str]:
    """The source keys: the ``###`` headings of the Sources section."""
    text = SCIENCE.read_text(encoding="utf-8") if text is None else text
    return re.findall(r"^### (.+?)\s*$", section(text, "Sources"), re.M)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Explicit ``id="..."`` anchors and heading anchors of a Markdown page."""
    explicit = set(re.findall(r"""\bid=["']([^"']+)["']""", text))
    headings = {slug(h) for h in re.findall(r"^#{1,6} (.+?)\s*#*\s*$", strip_code(text), re.M)}
    return explicit | headings


# ---- parameter source texts -----------------------------------------------------------------
def _is_model_field(annotation) -> bool:
    """A field that holds parameter models (Params' sections, its schedule), not a value."""
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return True
    return False


def parameter_sources() -> dict[str, str]:
    """``Model.field`` or ``paramset:name.field`` -> the field's source text."""
    found = {}
    for name, model in vars(models).items():
        if not (isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == models.__name__):
            continue
        for field, info in model.model_fields.items():
            if info.description is None:
                assert _is_model_field(info.annotation), f"{name}.{field} has no unit and source"
                continue
            unit, sep, source = info.description.partition("] ")
            found[f"{name}.{field}"] = source if sep and unit.startswith("[") else info.description
    for name in paramsets.NAMES:
        for field, source in paramsets.sources(name).items():
            found[f"paramset:{name}.{field}"] = source
    return found


def source_problems(text: str, keys: list[str]) -> list[str]:
    """What is wrong with one source text (empty when it is fine)."""
    problems = []
    if not text.lower().startswith(KINDS) and not any(key in text for key in keys):
        problems.append(
            "names no source of docs/science.md and does not start with " + " / ".join(f"'{kind}:'" for kind in KINDS)
        )
    problems += [
        f"cites {cited!r}, which is not a key of docs/science.md"
        for cited in CITATION.findall(text)
        if not any(key == cited or key.endswith(f" {cited}") for key in keys)  # "de Pedro et al. 2018"
    ]
    return problems


def test_science_md_has_unique_anchored_sources():
    text = SCIENCE.read_text(encoding="utf-8")
    keys = science_keys(text)
    assert len(keys) >= 20, keys
    assert len(keys) == len(set(keys)), "duplicate source keys"
    ids = set(re.findall(r"""\bid=["']([^"']+)["']""", text))
    missing = [key for key in keys if re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-") not in ids]
    assert not missing, f"sources without an <a id> anchor: {missing}"


def test_every_parameter_names_a_source_or_says_what_it_is():
    keys = science_keys()
    sources = parameter_sources()
    assert len(sources) > 100, "too few parameters found; did the models move?"
    wrong = [
        f"{where}: {problem}\n    {text!r}"
        for where, text in sources.items()
        for problem in source_problems(text, keys)
    ]
    assert not wrong, "parameter sources that do not resolve to docs/science.md:\n" + "\n".join(wrong)


def test_every_assumption_is_listed_in_science_md():
    listed = section(SCIENCE.read_text(encoding="utf-8"), "Assumptions")
    missing = sorted(
        {
            where.split(".")[-1]
            for where, text in parameter_sources().items()
            if "assum" in text.lower() and f"`{where.split('.')[-1]}`" not in listed
        }
    )
    assert not missing, f"assumptions missing from the Assumptions section of docs/science.md: {missing}"


def test_every_source_entry_has_a_citation():
    """Each source entry has its citation below the heading, not just a key."""
    text = section(SCIENCE.read_text(encoding="utf-8"), "Sources")
    entries = re.split(r"^### .+$", text, flags=re.M)[1:]
    for key, body in zip(science_keys(), entries):
        assert len(body.strip()) > 80, f"{key}: no citation under the heading"


# ---- links ---------------------------------------------------------------------------------------
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def strip_code(text: str) -> str:
    """Markdown without fenced code blocks and inline code spans (links there are not links)."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def markdown_files() -> list[Path]:
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "experiments").glob("*/README.md")),
    ]


def link_problems(path: Path) -> list[str]:
    """Links of one Markdown file that do not resolve to a file (and anchor) of the repository."""
    problems = []
    for target in LINK.findall(strip_code(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
            problems.append(f"{target}: points outside the repository")
            continue
        file_part, _, fragment = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path.resolve()
        if ROOT.resolve() not in (dest, *dest.parents):
            problems.append(f"{target}: leaves the repository")
        elif not dest.exists():
            problems.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest.read_text(encoding="utf-8")):
            problems.append(f"{target}: no anchor #{fragment} in {dest.relative_to(ROOT.resolve())}")
    return problems


def test_markdown_files_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in markdown_files()}
    assert {"README.md", "docs/design.md", "docs/science.md"} <= names
    assert any(name.startswith("experiments/") for name in names)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_resolve_inside_the_repository(path):
    problems = link_problems(path)
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_readme_points_to_the_design_and_the_science():
    targets = {t.partition("#")[0] for t in LINK.findall(strip_code((ROOT / "README.md").read_text(encoding="utf-8")))}
    assert {"docs/design.md", "docs/science.md"} <= targets


# ---- no pointers outside the repository ---------------------------------------------------------
OUTSIDE = [
    (re.compile(r"\.\./shared", re.I), "../shared"),
    (re.compile(r"shared/reference", re.I), "shared/reference"),
    (re.compile(r"DESIGN\.md"), "DESIGN.md"),
    (re.compile(r"SCIENCE\.md"), "SCIENCE.md"),
    (re.compile(r"seed ref", re.I), "seed ref"),
    (re.compile(r"the commentary", re.I), "the commentary"),
    (re.compile(r"commentary\W{0,3}s? ref", re.I), "commentary ref"),
    (re.compile(r"\bDESIGN (?:section )?\d"), "DESIGN <section>"),
]


def outside_references(path: Path, text: str) -> list[str]:
    return [
        f"{path}:{number}: {label}: {line.strip()[:100]}"
        for number, line in enumerate(text.splitlines(), 1)
        for pattern, label in OUTSIDE
        if pattern.search(line)
    ]


def tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    files = []
    for name in listed.decode().split("\0"):
        path = ROOT / name
        if not name or path.is_symlink() or not path.is_file() or path == Path(__file__).resolve():
            continue
        head = path.read_bytes()[:8192]
        if b"\0" in head:
            continue  # binary (figures)
        files.append(path)
    return files


def test_no_tracked_file_points_outside_the_repository():
    found = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += outside_references(path.relative_to(ROOT), text)
    assert not found, "references to documents outside the repository:\n" + "\n".join(found)


# ---- the checks can fail ------------------------------------------------------------------------
def test_the_checks_can_fail(tmp_path, monkeypatch):
    keys = science_keys()
    assert source_problems("lattice columns", keys)
    assert source_problems("transit time (Weinstein, McCullough & Ross 1984)", keys)
    assert source_problems("IC50 (Nobody et al. 2001)", keys)
    assert not source_problems("assumption: a guess", keys)
    assert not source_problems("~14 days (BioNumbers 111965, summary)", keys)
    assert not source_problems("beta = 0.15/day (Karin et al. 2019)", keys)

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Real heading\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/a.md#real-heading) [gone](docs/b.md) [anchor](docs/a.md#nope) "
        "[web](https://example.org) `[code](docs/b.md)`\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    problems = link_problems(page)
    assert len(problems) == 3, problems
    assert any("no such file" in p for p in problems)
    assert any("no anchor" in p for p in problems)
    assert any("outside" in p for p in problems)

    assert outside_references(Path("x"), "see ../" + "shared/DESIGN" + ".md section 3")
    assert outside_references(Path("x"), "(The " + "commentary) asks")
    assert not outside_references(Path("x"), "see docs/design.md and docs/science.md")


def test_the_readme_archive_example_runs_as_written(tmp_path, monkeypatch):
    """The README's three lines ("RPP versus time for every run, with the dose as a column")."""
    from geroconvert import load_config, run_sweep

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"    import geroconvert as gc\n    archive = gc\.open_archive\(.*\n    rpp = .*\n", text)
    assert block, "the README's open_archive example is missing"
    loaded = load_config(
        ROOT / "configs" / "rapamycin_dose_sweep.toml",
        [
            "simulation.width=8",
            "simulation.height=8",
            "simulation.hours=48",
            "assays.rpp_times_h=[0, 24, 48]",
            "assays.max_cells=8",
            "sweep.replicates=1",
        ],
    )
    (tmp_path / "out").mkdir()
    run_sweep(loaded.mapping, tmp_path / "out" / "rapamycin_dose_sweep.h5", workers=1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile("\n".join(line[4:] for line in block.group(0).splitlines()), "README.md", "exec"), namespace)
    rpp = namespace["rpp"]
    assert list(rpp.columns[:2]) == ["run", "time_h"]
    assert "environment.rapamycin_nM" in rpp.columns and "rpp" in rpp.columns
    n_doses = rpp["environment.rapamycin_nM"].nunique()
    assert n_doses >= 5 and len(rpp) == n_doses * 3  # every run at every assay time
    assert rpp["rpp"].between(0, 1).all()


def test_the_readme_config_reference_is_up_to_date():
    """The README's generated config reference matches the parameter models (run
    `geroconvert reference --update README.md` after changing a parameter or a prior)."""
    from geroconvert.config import reference_markdown
    from geroconvert.interfaces.cli.commands_run import REFERENCE_END, REFERENCE_START

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(REFERENCE_START) + len(REFERENCE_START) : readme.index(REFERENCE_END)]
    assert block.strip() == reference_markdown().strip(), "README.md config reference is stale"
