"""Where a workflow run's time went: Snakemake's per-job benchmark files (logs/benchmarks/<rule>/...tsv)
summed per rule (jobs, wall seconds, CPU seconds, the slowest job, peak memory).

    .venv/bin/python benchmarks/rule_times.py [logs/benchmarks]
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path


def summarise(root: Path) -> list[tuple[str, int, float, float, float, str, float]]:
    rows: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, "", 0.0])
    for tsv in sorted(root.rglob("*.tsv")):
        rule = tsv.relative_to(root).parts[0]
        with open(tsv, newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                acc = rows[rule]
                s, cpu = float(r["s"]), float(r.get("cpu_time") or 0.0)
                rss = float(r["max_rss"]) if r.get("max_rss") not in (None, "", "-") else 0.0
                acc[0] += 1
                acc[1] += s
                acc[2] += cpu
                if s > acc[3]:
                    acc[3], acc[4] = s, str(tsv.relative_to(root / rule).with_suffix(""))
                acc[5] = max(acc[5], rss)
    return sorted(((k, *v) for k, v in rows.items()), key=lambda r: -r[2])


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "logs/benchmarks")
    table = summarise(root)
    print(f"{'rule':16s} {'jobs':>5s} {'wall s':>9s} {'CPU s':>9s} {'slowest job':>12s}  {'peak MB':>8s}  slowest")
    for rule, n, wall, cpu, top, where, rss in table:
        print(f"{rule:16s} {n:5d} {wall:9.1f} {cpu:9.1f} {top:12.1f}  {rss:8.0f}  {where}")
    n = sum(r[1] for r in table)
    print(f"{'total':16s} {n:5d} {sum(r[2] for r in table):9.1f} {sum(r[3] for r in table):9.1f}")


if __name__ == "__main__":
    main()
