"""Does more training close the gap? Train one entry at 1x, 2x, 4x ... its configured training length
(the param its method extends, ``TorchMethod.budget``: epochs, iterations, alternate_epochs), all else
unchanged, and record the frame AUC, the training steps and the CPU time at each.

Each longer run **extends** the finished shorter one (the engine keeps ``model.final.pt``), so 4x costs
4x in all, not 1 + 2 + 4 = 7x; an extended run equals one trained that long from scratch (tests/test_extend.py).

    VADFLOW_PED2=../shared/datasets/ucsd_ped2 python benchmarks/scale_trend.py \\
        --configfile config/cpu/ped2/conv_ae.yaml --entry conv_ae --directory runs/ped2_cpu --out docs/papers/scale-trend

writes ``<out>/<entry>.json`` (one point per factor, written as each finishes: a rerun keeps the points
there and runs only the factors missing). ``--base N`` sets the 1x length where the config's own is too
long for the CPU time at hand (the note of the trend says so). ``--plot`` draws every ``<out>/*.json`` into
``<out>.png`` with the floor and the paper's figure as lines (``vadflow.reporting.figures.scale_trend_figure``).
Nothing here looks at test labels to choose anything: the factors are fixed before the runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def _steps(log_csv: Path) -> int:
    """Optimiser steps of a training log: the last step of each stage, summed."""
    last: dict[str, int] = {}
    with open(log_csv, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("step"):
                last[row["stage"]] = max(last.get(row["stage"], 0), int(float(row["step"])))
    return sum(last.values())


def _cpu_seconds(tsv: Path) -> float:
    """CPU seconds of the last run of a job (Snakemake's benchmark file: s, ..., cpu_time last column)."""
    rows = list(csv.DictReader(open(tsv), delimiter="\t"))
    return float(rows[-1]["cpu_time"])


def run(args: argparse.Namespace) -> None:
    from vadflow.config import load_config, resolve_method
    from vadflow.methods import get_method_class

    cfg = load_config(args.configfile)
    entry = resolve_method(cfg, args.entry)
    budget = get_method_class(entry.method).budget
    base = args.base or int(getattr(entry.params, budget))
    workdir = Path(args.directory).resolve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = out / f"{args.entry}.json"
    done = json.loads(record.read_text()) if record.exists() else {}
    points = [p for p in done.get("points", []) if p[budget] == base * p["factor"]]
    for factor in args.factors:
        if any(p["factor"] == factor for p in points):
            continue
        length = base * factor
        result = workdir / "results" / args.dataset / f"{args.entry}.json"
        override = f"methods={{{args.entry}: {{params: {{{budget}: {length}}}}}}}"
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), str(result.relative_to(workdir)),
               "--directory", str(workdir), "--cores", str(args.cores), "--configfile", str(Path(args.configfile).resolve()),
               "--config", override, "--rerun-incomplete"]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        r = json.loads(result.read_text())
        log = workdir / "work" / args.dataset / "models" / args.entry / "train_log.csv"
        shutil.copy(log, out / f"{args.entry}-{factor}x.train_log.csv")
        points.append({"factor": factor, budget: length, "steps": _steps(log), "train_hours": _train_hours(log),
                       "train_cpu_seconds_this_run": _cpu_seconds(
                           workdir / "logs" / "benchmarks" / "train" / args.dataset / f"{args.entry}.tsv"),
                       "frame_auc": r["frame_auc"], "frame_auc_ci": r.get("frame_auc_ci"), "final_loss": _last_loss(log)})
        points.sort(key=lambda p: p["factor"])
        floor = {m: json.loads((workdir / "results" / args.dataset / f"{m}.json").read_text())["frame_auc"]
                 for m in ("frame_difference", "mean_frame_distance")
                 if (workdir / "results" / args.dataset / f"{m}.json").exists()}
        record.write_text(json.dumps({
            "entry": args.entry, "label": entry.label, "dataset": args.dataset, "configfile": args.configfile,
            "budget": budget, "base": base, "paper": args.paper, "paper_source": args.paper_source, "floors": floor,
            "points": points}, indent=1))


def _train_hours(log_csv: Path) -> float:
    """Wall hours of training to the log's last row (its ``seconds`` run on across an extension)."""
    rows = [r for r in csv.DictReader(open(log_csv, newline="")) if r.get("seconds")]
    return float(rows[-1]["seconds"]) / 3600 if rows else 0.0


def _last_loss(log_csv: Path) -> float | None:
    rows = list(csv.DictReader(open(log_csv, newline="")))
    return float(rows[-1]["loss"]) if rows and rows[-1].get("loss") else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configfile")
    ap.add_argument("--entry")
    ap.add_argument("--dataset", default="ped2")
    ap.add_argument("--directory", help="the run's working directory (its 1x run may be there already)")
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--base", type=int, help="the 1x training length (default: the config's)")
    ap.add_argument("--paper", type=float, help="the paper's figure (%%) for the plot")
    ap.add_argument("--paper-source", help="where that figure is printed (the plot's legend says it)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", default="docs/papers/scale-trend")
    ap.add_argument("--plot", action="store_true", help="only draw <out>.png from <out>/*.json")
    args = ap.parse_args()
    if args.plot:
        from vadflow.reporting.figures import scale_trend_figure

        trends = [json.loads(p.read_text()) for p in sorted(Path(args.out).glob("*.json"))]
        scale_trend_figure(trends, Path(args.out).with_suffix(".png"))
        return
    run(args)


if __name__ == "__main__":
    main()
