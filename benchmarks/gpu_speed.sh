#!/usr/bin/env bash
# The GPU speed check of issue 17 as one command on a lent GPU machine whose image has its own
# Python and PyTorch but not all of this project's readers (no wfdb there, so the WFDB archive
# part, the main target, would fail with "No module named 'wfdb'"), and no network.
#
#   bash benchmarks/gpu_speed.sh prepare      # here, with PyPI: wheels into .whl/ (git-ignored)
#   bash benchmarks/gpu_speed.sh run [ARGS]   # there: carry .whl/; JSON lines to stdout and
#                                             # to $OUT/model_speed.jsonl when OUT is set
#
# `run` installs the carried wheels without their dependencies into .whl/site (the image
# already holds pandas, scipy, h5py, pyarrow, aiohttp and fsspec; soundfile is imported by
# wfdb only for FLAC signals), puts the checkout on PYTHONPATH (the project's own pins, torch
# 2.13.0 CPU among them, must not replace the image's CUDA build) and runs
# `benchmarks/model_speed.py --device cuda` (ARGS replace `--device cuda`). The plan of parts
# is sized to finish in about five minutes on one H100/H200 (model_speed.py's doc).
#
# Environment: PYTHON (default python3), DEVICE_WHEELS (default .whl), and for `prepare`
# DEVICE_PYTHON_VERSION and DEVICE_PLATFORM (default 3.12 and manylinux2014_x86_64: the lent
# H200's image, as its device notes read on 2026-11).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WHEELS=${DEVICE_WHEELS:-.whl}
# What `prepare` downloads: the readers' packages the image lacks, and two small pure-Python
# ones scoring imports that the image held when its packages were last listed (2026-11-17)
# but a bare Python lacks (scoring stopped at "No module named 'threadpoolctl'" there);
# their version ranges come from pyproject.toml.
CARRIED="wfdb pyedflib defusedxml pydicom threadpoolctl tqdm"

requirements() {
    "$PYTHON" - "$CARRIED" <<'EOF'
import re, sys, tomllib
wanted = set(sys.argv[1].split())
with open("pyproject.toml", "rb") as fh:
    deps = tomllib.load(fh)["project"]["dependencies"]
found = {re.split(r"[<>=!~;\s\[]", d, maxsplit=1)[0]: d for d in deps}
missing = wanted - set(found)
if missing:
    sys.exit(f"gpu_speed.sh: pyproject.toml does not list {', '.join(sorted(missing))}")
print("\n".join(found[name] for name in sorted(wanted)))
EOF
}

case "${1:-}" in
prepare)
    mapfile -t packages < <(requirements)
    [ ${#packages[@]} -gt 0 ] || exit 2
    rm -rf "$WHEELS" && mkdir -p "$WHEELS"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version "${DEVICE_PYTHON_VERSION:-3.12}" \
        --platform "${DEVICE_PLATFORM:-manylinux2014_x86_64}" \
        --dest "$WHEELS" "${packages[@]}"
    ls "$WHEELS"
    ;;
run)
    shift
    [ -d "$WHEELS" ] || { echo "gpu_speed.sh: no $WHEELS/ here; run 'prepare' first and carry it" >&2; exit 2; }
    site="$(cd "$WHEELS" && pwd)/site"
    "$PYTHON" -m pip install --quiet --no-index --no-deps --upgrade --target "$site" "$WHEELS"/*.whl
    export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}"
    export PYTHONUNBUFFERED=1
    args=("$@")
    [ ${#args[@]} -gt 0 ] || args=(--device cuda)
    if [ -n "${OUT:-}" ]; then
        "$PYTHON" benchmarks/model_speed.py "${args[@]}" | tee "$OUT/model_speed.jsonl"
    else
        "$PYTHON" benchmarks/model_speed.py "${args[@]}"
    fi
    ;;
*)
    echo "usage: bash benchmarks/gpu_speed.sh prepare | run [model_speed.py arguments]" >&2
    exit 2
    ;;
esac
