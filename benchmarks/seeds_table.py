"""Gather the seed summaries of benchmarks/ped2_seeds.sh into one Markdown table: per headline entry
its AUC with each seed, the mean ± sd, the spread of the bootstrap interval, the floors of the same
run directory and the paper's figure, and the CPU time of each run directory.

    .venv/bin/python benchmarks/seeds_table.py runs > docs/papers/seeds-ped2.md   (a table to paste in)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

#: (run directory, entry, the paper's table whose Ped2 figure it is beside, the published row's method entry)
HEADLINE = [
    ("ped2_cpu", "conv_ae", "srnn/table3", "conv_ae", "minmax_micro"),
    ("ped2_srnn_cpu", "tsc", "srnn/table3", "tsc", "minmax_micro"),
    ("ped2_srnn_cpu", "srnn_ae_late", "srnn/table3", "srnn_ae_late", "minmax_micro"),
    ("ped2_anomalynet_cpu", "anomalynet", "anomalynet/table5", "anomalynet", "minmax_micro"),
    ("ped2_adv3d_cpu", "adv3d_cae", "adv3d/table2", "adv3d_cae", "minmax_micro"),
    ("ped2_dissociation_cpu", "dissociation_ae", "dissociation/table1", "dissociation_ae", "minmax_micro"),
    ("ped2_lad_cpu", "lad_multitask", "lad/table3", "lad_multitask", "raw_micro"),
    ("ped2_lad_cpu", "deepmil", "lad/table3", "deepmil", "raw_micro"),
]


def _paper(ref: str, method: str) -> float | None:
    from vadflow.reporting.published import published_table

    try:
        value = published_table(ref).value(method, "ped2")
    except Exception:  # noqa: BLE001 (a figure the paper does not give)
        return None
    return value.get("auc") if isinstance(value, dict) else value


def main() -> None:
    from vadflow.reporting.costs import summarise

    runs = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    print("| entry (config) | convention | seed 0 | seed 1 | seed 2 | mean ± sd | seed 0's 95 % interval | "
          "floors (frame difference / mean frame) | paper |")
    print("|---|---|---|---|---|---|---|---|---|")
    for cfg, entry, ref, method, conv in HEADLINE:
        path = runs / cfg / "results" / "ped2" / "seeds" / f"{entry}.json"
        if not path.exists():
            print(f"| {entry} ({cfg}) | {conv} | not run | | | | | | |")
            continue
        s = json.loads(path.read_text())
        fig = s["frame_auc"][conv]
        ci = (s["runs"][0].get("frame_auc_ci") or {}).get(conv)
        floors = []
        for f in ("frame_difference", "mean_frame_distance"):
            fp = runs / cfg / "results" / "ped2" / f"{f}.json"
            floors.append(f"{100 * json.loads(fp.read_text())['frame_auc'][conv]:.2f}" if fp.exists() else "–")
        values = [f"{100 * v:.2f}" for v in fig["values"]] + [""] * (3 - len(fig["values"]))
        paper = _paper(ref, method)
        print(f"| {entry} ({cfg}) | {conv} | {' | '.join(values[:3])} | {100 * fig['mean']:.2f} ± {100 * fig['sd']:.2f} | "
              f"{f'[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]' if ci else '–'} | {' / '.join(floors)} | "
              f"{paper if paper is not None else '–'} |")
    print()
    total = 0.0
    configs = {cfg for cfg, *_ in HEADLINE}  # the seed runs' directories only, not other runs kept beside them
    for d in sorted(p for p in runs.iterdir() if p.name in configs and (p / "logs" / "benchmarks").is_dir()):
        cpu = sum(row[3] for row in summarise(d / "logs" / "benchmarks"))
        total += cpu
        print(f"- {d.name}: {cpu / 3600:.2f} CPU-hours (every job of the run directory, features and floors included)")
    print(f"- all: {total / 3600:.2f} CPU-hours")


if __name__ == "__main__":
    main()
