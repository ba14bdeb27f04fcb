#!/usr/bin/env bash
# The GPU check (issue 29; docs/paper-scale.md): on one GPU, in at most 8 minutes, every torch method at the
# paper's shapes under {32-true, bf16-mixed} x {single, ddp with devices 1}, stopped by SIGUSR1 after its first
# step and resumed, then scoring a short video; one batch of every feature spec of config/paper.yaml; and
# `import lightning` inside the conda env of envs/vadflow.yaml. Exits non-zero on any failure.
#
#   bash benchmarks/gpu_check.sh                          # on a machine with one GPU
#   bash benchmarks/gpu_check.sh --device cpu             # the CPU dry run at tiny shapes (CI runs it)
#   bash benchmarks/gpu_check.sh --out benchmarks/out/gpu # also write gpu_check.json / gpu_check.txt
#
# Options: benchmarks/gpu_check.py --help. VADFLOW_PYTHON picks the interpreter (default .venv/bin/python).
set -uo pipefail
cd "$(dirname "$0")/.."

# `import lightning` in the conda env made from envs/vadflow.yaml: the env named there, or one Snakemake
# made from that file (.snakemake/conda/<hash>/ beside a copy <hash>.yaml). The result goes to the Python
# check in GPU_CHECK_CONDA_LIGHTNING (status|detail), which reports it and counts a failure.
conda_check() {
    if ! command -v conda >/dev/null 2>&1; then
        echo "skipped|conda is not on PATH"
        return
    fi
    local name prefix="" out
    name=$(sed -n 's/^name:[[:space:]]*//p' envs/vadflow.yaml | head -n 1)
    if conda env list 2>/dev/null | awk '{print $1}' | grep -qx "$name"; then
        prefix=$(conda env list 2>/dev/null | awk -v n="$name" '$1 == n {print $NF}')
    else
        for copy in .snakemake/conda/*.yaml; do
            [ -e "$copy" ] || continue
            if cmp -s "$copy" envs/vadflow.yaml && [ -d "${copy%.yaml}" ]; then
                prefix="${copy%.yaml}"
                break
            fi
        done
    fi
    if [ -z "$prefix" ]; then
        echo "skipped|no conda env made from envs/vadflow.yaml (conda env create -f envs/vadflow.yaml, or snakemake --sdm conda --conda-create-envs-only)"
        return
    fi
    if out=$(conda run -p "$prefix" python -c 'import lightning; print(lightning.__version__)' 2>&1); then
        echo "ok|lightning $(echo "$out" | tail -n 1) in $prefix"
    else
        echo "failed|import lightning in $prefix: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
    fi
}

GPU_CHECK_CONDA_LIGHTNING=$(conda_check)
export GPU_CHECK_CONDA_LIGHTNING
echo "import lightning in the conda env: ${GPU_CHECK_CONDA_LIGHTNING/|/: }" >&2

PY=${VADFLOW_PYTHON:-.venv/bin/python}
if [ ! -x "$PY" ]; then
    PY=$(command -v python3)
fi
exec "$PY" benchmarks/gpu_check.py "$@"
