#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment outside the checkout, and
# run what a user of the wheel runs: a packaged config, `info`, the quick validation suite,
# and `demo` without the web extra (which must say in one line how to install it).
# Usage: bash scripts/wheel_check.sh [PYTHON]   (default: .venv/bin/python builds the wheel)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILDER="${1:-.venv/bin/python}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$BUILDER" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" .
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/venv/bin/python" -m pip install --quiet "$WORK"/dist/geroconvert-*.whl
GC="$WORK/venv/bin/geroconvert"

cd "$WORK"  # nothing of the checkout is reachable from here
"$WORK/venv/bin/python" - <<'PY'
import geroconvert, pathlib
where = pathlib.Path(geroconvert.__file__).resolve()
assert "site-packages" in where.parts, f"imported from {where}, not from the installed wheel"
assert (where.parent / "py.typed").is_file(), "py.typed missing from the wheel"
print(f"wheel: geroconvert {geroconvert.__version__} from {where.parent}, "
      f"{len(geroconvert.packaged_configs())} packaged configs")
PY
"$GC" run ht_p21 -o run.h5 --quiet
"$GC" run configs/epidermis_small.toml -o skin.h5 --quiet
"$GC" info run.h5 | head -n 2
"$GC" validate --quick --workers 2

set +e
message="$("$GC" demo 2>&1)"
code=$?
set -e
lines="$(printf '%s\n' "$message" | wc -l)"
if [ "$code" -ne 2 ] || [ "$lines" -ne 1 ] || ! printf '%s' "$message" | grep -q "geroconvert\[web\]"; then
    echo "wheel check: demo without the web extra should fail in one line naming geroconvert[web];" \
         "got exit $code: $message" >&2
    exit 1
fi
echo "wheel check: demo without the web extra says: $message"
echo "wheel check: passed"
