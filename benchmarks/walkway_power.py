"""How wide each walkway cell's 95 % interval is on the first n test videos of a run (issue 31).

The walkway renders every video from its own RNG stream and takes the anomaly kinds in turn, so the first n
test videos of a run are the test set a config with ``n_test: n`` would make, and training does not depend
on n: one run gives the widths for every smaller test set. Stratified by kind, as the default config does.
    .venv/bin/python benchmarks/walkway_power.py RUN_DIR [N ...]      (RUN_DIR: where make table3 ran; N: 24 30 36)
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

from vadflow.data.store import FrameStore
from vadflow.evaluation.bootstrap import BootstrapParams, video_bootstrap
from vadflow.evaluation.metrics import frame_level_auc
from vadflow.evaluation.results import load_ground_truth, store_categories
from vadflow.scores import read_scores


def main() -> None:
    run = sys.argv[1] if len(sys.argv) > 1 else "."
    ns = [int(x) for x in sys.argv[2:]] or [24, 30, 36]
    stores = sorted(glob.glob(f"{run}/work/walkway/frames/test/*.zarr"))
    labels, _ = load_ground_truth(stores)
    categories = store_categories([FrameStore(p) for p in stores])
    print("method".ljust(22), " ".join(f"n={n}: AUC width".rjust(20) for n in ns))
    for path in sorted(glob.glob(f"{run}/work/walkway/scores/*.zarr")):
        scores = read_scores(path)[1]
        cells = []
        for n in ns:
            keep = sorted(scores)[:n]
            s, y = {v: scores[v] for v in keep}, {v: labels[v] for v in keep}
            auc = frame_level_auc(s, y)["minmax_micro"]
            ci = video_bootstrap(s, y, BootstrapParams(strata="category"), categories=categories)["minmax_micro"]
            cells.append(f"{100 * auc:6.2f} {100 * (ci[1] - ci[0]):5.1f}")
        print(Path(path).stem.ljust(22), " ".join(c.rjust(20) for c in cells))


if __name__ == "__main__":
    main()
