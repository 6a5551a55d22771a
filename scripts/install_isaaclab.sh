#!/usr/bin/env bash
# Isaac Lab 3 without Kit, on CPU, in its own virtual environment, with lyra-sim installed into it:
# what `scripts/train.py`, `scripts/play.py` and tests/sim/test_isaaclab_tasks.py run in.
#
#   scripts/install_isaaclab.sh [VENV]      VENV: $LYRA_ISAACLAB_VENV, else <repo>/.venv-isaaclab
#
# Isaac Lab 3.0.0 declares Python >= 3.12 and pins torch 2.11 + torchvision (a multi-GB CUDA
# download). It runs kit-less on CPU under Python 3.11 when installed without its dependencies
# plus the lean set below (measured: ../shared/reference/newton-isaaclab-cpu.md); NVIDIA does not
# support this route. A constraints file keeps the CPU torch and refuses torchvision outright.
# Re-running is safe: an existing VENV is reused and pip skips what is already there.
#
# Environment: PYTHON (default python3), TORCH_SPEC (default torch==2.13.0; on a machine whose
# pip would pick a CUDA build, e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu").
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-${LYRA_ISAACLAB_VENV:-$repo/.venv-isaaclab}}
python=${PYTHON:-python3}
torch_spec=${TORCH_SPEC:-torch==2.13.0}
read -r -a torch_pip_args <<< "${TORCH_PIP_ARGS:-}"

# Pinned together: Isaac Lab 3.0.0 breaks with Newton 1.8 (`Clamping` missing from newton.actuators).
ISAACLAB=isaaclab==3.0.0
LEAN=(
  "newton[sim]==1.6.1" warp-lang==1.17.0 rsl-rl-lib==5.5.1 usd-exchange==3.0.1 newton-usd-schemas
  gymnasium tensorboard matplotlib prettytable protobuf rich tqdm trimesh scipy shapely rtree meshio
  pillow lazy_loader gitpython botocore psutil
)

start=$(date +%s)
say() { printf '[install_isaaclab %3ds] %s\n' "$(( $(date +%s) - start ))" "$*"; }

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "install_isaaclab.sh: $python is missing or older than Python 3.11; set PYTHON=/path/to/python3.11 (or 3.12)" >&2
  exit 2
fi
if [ -x "$venv/bin/python" ]; then
  say "reusing $venv"
else
  say "creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
# pip lists every Isaac Lab pin left out on purpose (torch 2.11, torchvision, transformers, ...)
# after each install: expected on this route, so those lines are dropped (said once at the end).
pipq() {
  "${pip[@]}" install -q "$@" 2>&1 | { grep -v -E "^isaaclab [0-9.]+ requires |^ERROR: pip's dependency resolver does not currently take|^WARNING: Location 'file:" || true; }
}

constraints="$venv/lyra-sim-constraints.txt"
cat > "$constraints" <<CONSTRAINTS
# written by scripts/install_isaaclab.sh: the CPU torch stays, torchvision (CUDA torch) can never come in
${torch_spec}
torchvision<0
isaaclab==3.0.0
newton==1.6.1
warp-lang==1.17.0
rsl-rl-lib==5.5.1
CONSTRAINTS

say "1/4 $torch_spec ${torch_pip_args[*]:-}"
pipq "${torch_pip_args[@]}" "$torch_spec"
say "2/4 $ISAACLAB (--no-deps --ignore-requires-python: its pins are torch 2.11 + torchvision, Python 3.12)"
pipq --no-deps --ignore-requires-python "$ISAACLAB"
say "3/4 Isaac Lab's lean requirements: ${LEAN[*]}"
pipq -c "$constraints" "${LEAN[@]}"
say "4/4 lyra-sim (editable, $repo) and pytest"
pipq -c "$constraints" -e "$repo" pytest

say "checking imports"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
import isaaclab, isaaclab_newton, isaaclab_rl, newton, warp, rsl_rl, torch  # noqa: F401
import lyra_sim.sim.isaaclab_tasks  # noqa: F401  (registers the LyraSim-* gymnasium ids)
for name in ("isaaclab", "newton", "warp-lang", "rsl-rl-lib", "torch", "gymnasium", "usd-core", "lyra-sim"):
    print(f"  {name:<11} {md.version(name)}")
try:
    md.version("torchvision")
    raise SystemExit("torchvision got installed: remove it, it replaces the CPU torch")
except md.PackageNotFoundError:
    pass
PY
say "done: $(du -sh "$venv" | cut -f1) in $venv (pip check lists Isaac Lab's pins left out on purpose: torch 2.11, torchvision, transformers, ...)"
echo "train: $venv/bin/python $repo/scripts/train.py --task LyraSim-Humanoid-Stand-v0 --num_envs 16 --max_iterations 150"
