#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/ecgviewer/ with PyInstaller (packaging/ecgviewer.spec).
#
#   packaging/build.sh                 CPU-only torch (the default; what clinics get)
#   TORCH_VARIANT=cuda packaging/build.sh   a CUDA build (see packaging/README.md)
#   packaging/build.sh --smoke         build, then run packaging/smoke_test.sh on the bundle
#
# It makes its own build virtual environment (build/venv; BUILD_VENV=.venv reuses the
# developer's), installs the pinned torch, the project and its optional 'package' extra
# (PyInstaller) into it, checks the torch variant and the bundled weights, then freezes.
# Environment:
#   PYTHON          interpreter for a new venv (default python3, >= 3.11)
#   BUILD_VENV      venv to use or create (default build/venv)
#   TORCH_VARIANT   cpu (default) or cuda: the build fails if the installed torch is not that
#   TORCH_PIP_ARGS  extra pip arguments for torch, e.g. PyTorch's CPU or CUDA wheel index
#   ALLOW_NO_WEIGHTS=1  build without resources/model/weights.pt (a test build; it cannot score)
# Output: dist/ecgviewer/ (run dist/ecgviewer/ecgviewer), build/pyinstaller/ (work files).
# Neither is committed (.gitignore). Prints the bundle size and the build time at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

smoke=0
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-python3}
VENV=${BUILD_VENV:-build/venv}
VARIANT=${TORCH_VARIANT:-cpu}
case "$VARIANT" in cpu|cuda) ;; *) echo "TORCH_VARIANT must be cpu or cuda" >&2; exit 2 ;; esac
# The torch pin lives in pyproject.toml only; read it from there.
TORCH_REQ=$(grep -oE '"torch==[^"]+"' pyproject.toml | tr -d '"')
[ -n "$TORCH_REQ" ] || { echo "no torch==X pin found in pyproject.toml" >&2; exit 1; }

# ---------------------------------------------------------------- weights and model card
card=resources/model/model_card.json
weights=resources/model/weights.pt
if [ -f "$weights" ] && [ -f "$card" ]; then
  want=$(grep -oE '"weights_sha256": *"[0-9a-f]{64}"' "$card" | grep -oE '[0-9a-f]{64}' || true)
  have=$(sha256sum "$weights" | cut -c1-64)
  if [ "$want" != "$have" ]; then
    echo "build.sh: $weights (sha256 $have) does not match $card ($want)" >&2; exit 1
  fi
elif [ "${ALLOW_NO_WEIGHTS:-0}" = 1 ]; then
  echo "build.sh: WARNING: no bundled weights; this bundle cannot score ECGs" >&2
else
  echo "build.sh: $weights and $card are needed (ALLOW_NO_WEIGHTS=1 for a test build)" >&2
  exit 1
fi

# ---------------------------------------------------------------- build environment
stamp="$VENV/.ecgviewer-build-$(cat pyproject.toml | sha1sum | cut -c1-12)-$VARIANT"
if [ ! -f "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first and pinned: an unpinned torch pulls a multi-GB CUDA build on Linux.
  # shellcheck disable=SC2086  # TORCH_PIP_ARGS is a list of words on purpose
  "$VENV/bin/python" -m pip install -q "$TORCH_REQ" ${TORCH_PIP_ARGS:-}
  "$VENV/bin/python" -m pip install -q -e ".[package]"
  rm -f "$VENV"/.ecgviewer-build-*; touch "$stamp"
fi
cuda=$("$VENV/bin/python" -c 'import torch; print(torch.version.cuda or "")')
if [ "$VARIANT" = cpu ] && [ -n "$cuda" ]; then
  echo "build.sh: torch in $VENV is a CUDA $cuda build; for the CPU bundle install the CPU" \
       "wheel (TORCH_PIP_ARGS='--index-url <PyTorch CPU index>', see packaging/README.md)" \
       "into a fresh BUILD_VENV" >&2
  exit 1
elif [ "$VARIANT" = cuda ] && [ -z "$cuda" ]; then
  echo "build.sh: torch in $VENV is a CPU build; TORCH_VARIANT=cuda needs a CUDA wheel" \
       "(TORCH_PIP_ARGS, see packaging/README.md) in a fresh BUILD_VENV" >&2
  exit 1
fi
echo "build.sh: $("$VENV/bin/python" -c 'import torch, PyInstaller, PySide6; print(
  f"torch {torch.__version__}, PySide6 {PySide6.__version__}, PyInstaller {PyInstaller.__version__}")')"

# ---------------------------------------------------------------- freeze
rm -rf dist/ecgviewer
ECGVIEWER_TORCH_VARIANT=$VARIANT "$VENV/bin/python" -m PyInstaller --noconfirm --clean \
  --log-level WARN --distpath dist --workpath build/pyinstaller packaging/ecgviewer.spec

# The desktop entry and its installer sit at the top of the folder, beside the executable.
if [ "$(uname -s)" = Linux ]; then
  cp packaging/linux/ecgviewer.desktop packaging/linux/install.sh dist/ecgviewer/
  chmod +x dist/ecgviewer/install.sh
fi

elapsed=$((SECONDS - start))
echo "build.sh: dist/ecgviewer built in $((elapsed / 60)) min $((elapsed % 60)) s"
du -sh dist/ecgviewer
du -sh dist/ecgviewer/_internal/torch 2>/dev/null || true
if [ "$smoke" = 1 ]; then
  packaging/smoke_test.sh
fi
