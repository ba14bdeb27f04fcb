"""Where a workflow run's time went: Snakemake's per-job benchmark files (logs/benchmarks/<rule>/...tsv)
summed per rule (jobs, wall seconds, CPU seconds, the slowest job, peak memory); the workflow's
report shows the same table (rule report_costs, vadflow.reporting.costs).

    .venv/bin/python benchmarks/rule_times.py [logs/benchmarks]
"""

from __future__ import annotations

import sys
from pathlib import Path

from vadflow.reporting.costs import summarise


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "logs/benchmarks")
    table = summarise(root)
    print(f"{'rule':16s} {'jobs':>5s} {'wall s':>9s} {'CPU s':>9s} {'slowest job':>12s}  {'peak MB':>8s}  slowest")
    for rule, n, wall, cpu, top, rss, where in table:
        print(f"{rule:16s} {n:5d} {wall:9.1f} {cpu:9.1f} {top:12.1f}  {rss:8.0f}  {where}")
    n = sum(r[1] for r in table)
    print(f"{'total':16s} {n:5d} {sum(r[2] for r in table):9.1f} {sum(r[3] for r in table):9.1f}")


if __name__ == "__main__":
    main()
