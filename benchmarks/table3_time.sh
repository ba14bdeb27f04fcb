#!/usr/bin/env bash
# Time `make table3` as a new user gets it: a fresh clone of this repository (HEAD), set-up
# included, then a no-op rerun; print the per-rule breakdown from logs/benchmarks and the table.
#   benchmarks/table3_time.sh [CLONE_DIR]      (default: a new temporary folder; kept afterwards)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d /tmp/vadflow-table3.XXXXXX)}
git clone -q "$repo" "$dir"
cd "$dir"
start=$(date +%s)
make table3 > make_table3.log 2>&1
mid=$(date +%s)
make table3 > make_table3_noop.log 2>&1
end=$(date +%s)
echo "fresh clone in $dir"
echo "make table3 (install included): $((mid - start)) s"
echo "no-op rerun:                    $((end - mid)) s"
echo
.venv/bin/python benchmarks/rule_times.py logs/benchmarks
echo
cat reports/table3.md
