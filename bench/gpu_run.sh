#!/usr/bin/env bash
# One job that proves and uses a GPU in minutes (bench/gpu_run.py says what it runs).
#   OUT=dir bash bench/gpu_run.sh            # on a CUDA machine: about 7 minutes
#   OUT=dir bash bench/gpu_run.sh --smoke    # the same on the CPU with tiny budgets
# Started from anywhere; uses this tree with no network and installs no dependency: texgen
# is installed in place (pip --no-deps) when it is not importable and setuptools is there,
# and is put on PYTHONPATH in any case. Writes at most 8 files into $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${OUT:-}" ]; then
  echo "gpu_run.sh: set OUT to the folder the results go to, e.g. OUT=gpu-out bash bench/gpu_run.sh" >&2
  exit 2
fi
mkdir -p "$OUT" || exit 2
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! python3 -c "import texgen, trainer" 2>/dev/null; then
  python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . >/dev/null 2>&1 \
    && echo "texgen installed in place (no dependencies)" || echo "texgen used from $PWD (PYTHONPATH)"
fi
exec python3 bench/gpu_run.py "$@"
