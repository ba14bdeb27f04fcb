#!/usr/bin/env bash
# The spread over training seeds on real UCSD Ped2 (issue 30): the headline entry of each paper at the
# Ped2 CPU configs, trained and scored with seeds 0, 1 and 2 (seeds: [0, 1, 2]), each config in a run
# directory of its own (the configs decode Ped2 differently). Writes results/ped2/seeds/<entry>.json in
# each, then benchmarks/seeds_table.py gathers them. The seeds were fixed before any run.
#   VADFLOW_PED2=../shared/datasets/ucsd_ped2 bash benchmarks/ped2_seeds.sh [RUNS_DIR] [RUN ...]   (RUN: a key of config_of)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-runs}; shift || true
export VADFLOW_PED2=${VADFLOW_PED2:-$repo/../shared/datasets/ucsd_ped2}
# run directory -> its config (config/cpu/ped2/<paper>.yaml)
declare -A config_of=(
  [ped2_cpu]=conv_ae [ped2_dissociation_cpu]=dissociation [ped2_lad_cpu]=lad
  [ped2_srnn_cpu]=srnn [ped2_anomalynet_cpu]=anomalynet [ped2_adv3d_cpu]=adv3d
)
declare -A entries=(
  [ped2_cpu]="conv_ae"
  [ped2_dissociation_cpu]="dissociation_ae"
  [ped2_lad_cpu]="lad_multitask deepmil"
  [ped2_srnn_cpu]="tsc srnn_ae_late"
  [ped2_anomalynet_cpu]="anomalynet"
  [ped2_adv3d_cpu]="adv3d_cae"
)
# Entries run once (seed 0) beside them: the baselines a paper's method is compared with
declare -A baselines=(
  [ped2_srnn_cpu]="ocsvm nearest_subspace"
)
# Entries trained shorter than their config for the seeds study, to keep issue 30's runs within about four
# CPU-hours on 2 cores (the config's own length: adv3d 5 epochs = 25 min, AnomalyNet 50 epochs = 34 min a seed).
declare -A shorter=(
  [ped2_adv3d_cpu]="methods={adv3d_cae: {params: {epochs: 1}}}"
  [ped2_anomalynet_cpu]="methods={anomalynet: {params: {epochs: 10}}}"
)
configs=${*:-ped2_cpu ped2_dissociation_cpu ped2_lad_cpu ped2_srnn_cpu ped2_anomalynet_cpu ped2_adv3d_cpu}
for c in $configs; do
  dir=$runs/$c
  mkdir -p "$dir"
  targets="results/ped2/frame_difference.json results/ped2/mean_frame_distance.json"
  for e in ${entries[$c]}; do targets="$targets results/ped2/seeds/$e.json"; done
  for e in ${baselines[$c]:-}; do targets="$targets results/ped2/$e.json"; done
  start=$(date +%s)
  "$repo/.venv/bin/python" -m snakemake -s "$repo/Snakefile" $targets --directory "$dir" --cores 2 --rerun-incomplete \
      --configfile "$repo/config/cpu/ped2/${config_of[$c]}.yaml" --config "seeds=${SEEDS:-[0, 1, 2]}" ${shorter[$c]:+"${shorter[$c]}"} > "$dir/snakemake.log" 2>&1
  echo "$c: $(( $(date +%s) - start )) s wall" | tee -a "$runs/times.txt"
done
