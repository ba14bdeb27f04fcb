#!/usr/bin/env bash
# The spread over training seeds on real UCSD Ped2 (issue 30): the headline entry of each paper at the
# Ped2 CPU configs, trained and scored with seeds 0, 1 and 2 (seeds: [0, 1, 2]), each config in a run
# directory of its own (the configs decode Ped2 differently). Writes results/ped2/seeds/<entry>.json in
# each, then benchmarks/seeds_table.py gathers them. The seeds were fixed before any run.
#   VADFLOW_PED2=../shared/datasets/ucsd_ped2 bash benchmarks/ped2_seeds.sh [RUNS_DIR] [CONFIG ...]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-runs}; shift || true
export VADFLOW_PED2=${VADFLOW_PED2:-$repo/../shared/datasets/ucsd_ped2}
declare -A entries=(
  [ped2_cpu]="conv_ae"
  [ped2_dissociation_cpu]="dissociation_ae"
  [ped2_lad_cpu]="lad_multitask deepmil"
  [ped2_srnn_cpu]="tsc srnn_ae_late"
  [ped2_anomalynet_cpu]="anomalynet"
  [ped2_adv3d_cpu]="adv3d_cae"
)
configs=${*:-ped2_cpu ped2_dissociation_cpu ped2_lad_cpu ped2_srnn_cpu ped2_anomalynet_cpu ped2_adv3d_cpu}
for c in $configs; do
  dir=$runs/$c
  mkdir -p "$dir"
  targets="results/ped2/frame_difference.json results/ped2/mean_frame_distance.json"
  for e in ${entries[$c]}; do targets="$targets results/ped2/seeds/$e.json"; done
  start=$(date +%s)
  "$repo/.venv/bin/python" -m snakemake -s "$repo/Snakefile" $targets --directory "$dir" --cores 2 \
      --configfile "$repo/config/$c.yaml" --config 'seeds=[0, 1, 2]' > "$dir/snakemake.log" 2>&1
  echo "$c: $(( $(date +%s) - start )) s wall" | tee -a "$runs/times.txt"
done
