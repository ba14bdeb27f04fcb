"""TSC / sRNN-AE on the moving digits with a chosen number of atoms (issue 13: why Table 1's appearance
figures are low at the default's 24 atoms), on a workflow's digits stores; prints the three frame-AUC
conventions.

    python digits_atoms.py work appearance tsc 128
"""

import sys
from pathlib import Path

from vadflow.config import resolve_method
from vadflow.evaluation.results import evaluate
from vadflow.methods.run import score, train


def main(work: str, variant: str, method: str, n_atoms: str, out: str = "/tmp/digits_atoms") -> None:
    root = Path(work) / f"digits_{variant}"
    key = next(p.name for p in (root / "features").iterdir() if p.name.startswith("digits_raw-") and p.is_dir())
    train_stores = sorted((root / "frames/train").glob("*.zarr"))
    test_stores = sorted((root / "frames/test").glob("*.zarr"))
    params = {"n_atoms": int(n_atoms), **({"dictionary_iterations": 10} if method == "tsc" else {"iterations": 300})}
    cfg = {"features": {"raw": {"kind": "raw"}},
           "methods": {"m": {"method": method, "input": {"features": ["raw"]}, "params": params}}}
    d = Path(out) / f"{variant}_{method}_{n_atoms}"
    d.mkdir(parents=True, exist_ok=True)
    feats = lambda stores, split: [root / "features" / key / split / p.name for p in stores]  # noqa: E731
    train(resolve_method(cfg, "m"), train_stores, d / "m.pt", None, features={"raw": feats(train_stores, "train")}, device="cpu")
    score(d / "m.pt", test_stores, d / "m.zarr", features={"raw": feats(test_stores, "test")}, device="cpu")
    r = evaluate(d / "m.zarr", test_stores, d / "m.json", dataset=variant)
    print(variant, method, n_atoms, {k: round(100 * r["frame_auc"][k], 2) for k in ("minmax_micro", "raw_micro", "macro")})


if __name__ == "__main__":
    main(*sys.argv[1:])
