#!/usr/bin/env bash
# One results cell at several commits, each in a worktree of its own with its own code (issue 30: the walkway
# adv3d_cae cell, 53.4 -> 44.39 -> 53.44 with unchanged settings):  bash benchmarks/bisect_cell.sh COMMIT...
# (worktrees under /work/runs/bisect; one line per commit in /work/runs/bisect.txt)
set -uo pipefail
for c in "$@"; do
  wt=/work/runs/bisect/$c
  [ -d $wt ] || git -C /work/main worktree add -f $wt $c -q
  cd $wt
  export PYTHONPATH=$wt/src   # this commit's vadflow, not the editable install of /work/main
  start=$(date +%s)
  /work/main/.venv/bin/python -m snakemake results/walkway/adv3d_cae.json --cores 2 > snakemake.log 2>&1
  auc=$(/work/main/.venv/bin/python -c "import json; r=json.load(open('results/walkway/adv3d_cae.json')); print(round(100*r['frame_auc']['minmax_micro'],2))" 2>/dev/null)
  echo "$c adv3d walkway $auc ($(( $(date +%s) - start )) s)" | tee -a /work/runs/bisect.txt
done
