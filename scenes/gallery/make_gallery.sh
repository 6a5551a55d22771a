#!/usr/bin/env bash
# Remake the gallery: each world is one `lyra-sim generate` command (embedded default, CPU).
# The repository keeps only scene.usdz, preview.png, report.json and config.yaml of each, with
# fewer Gaussians (decoder.keep_fraction=0.25) and a lighter collider (20k triangles) than the
# defaults; run the command without those two overrides for the full-size world.
set -euo pipefail
cd "$(dirname "$0")"
LIGHT=(decoder.keep_fraction=0.25 export.collider.max_triangles=20000)
make() {  # make NAME ARGS...: generate into NAME/, then drop the large side files
  local name=$1; shift
  lyra-sim generate "$@" --out "$name" --overwrite --quiet "${LIGHT[@]}"
  rm -f "$name"/collider.obj "$name"/collider.glb "$name"/preview.mp4 "$name"/scene*.ply
  local cmd="lyra-sim generate" arg
  for arg in "$@" --out "$name" "${LIGHT[@]}"; do [[ $arg == *" "* ]] && cmd+=" \"$arg\"" || cmd+=" $arg"; done
  echo "$cmd" > "$name/command.txt"
}
make living_room --prompt "a living room with a sofa" --seed 0
make warehouse --prompt "a warehouse with shelves" --seed 1
make corridor --prompt "a long corridor" --seed 2
make outdoor_slope --prompt "an outdoor slope with rocks" --seed 3
make moving_room --prompt "a living room" --seed 4 --dynamic --times 0,0.5,1
python3 make_readme.py
