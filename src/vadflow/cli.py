"""`vadflow` command line: the workflow's steps one at a time, for people who prefer a CLI.

The Snakemake workflow calls the same functions; use it to run everything
(`snakemake reports/table3.csv --cores all`).
"""

from __future__ import annotations

import argparse
import json
import sys

from vadflow.errors import ConfigError, VadflowError


def _cmd_synth(a: argparse.Namespace) -> None:
    from vadflow.data.synthetic_dataset import build_synthetic_dataset

    params = json.loads(a.params) if a.params else {}
    s = build_synthetic_dataset(
        a.generator, params, a.out, seed=a.seed, fps=a.fps, color=a.color, lossless=a.lossless
    )
    n = {"train": 0, "test": 0}
    for v in s["videos"].values():
        n[v["split"]] += 1
    print(f"wrote {a.out}: {n['train']} train and {n['test']} test videos ({a.generator}, seed {a.seed})")


def _cmd_decode(a: argparse.Namespace) -> None:
    from vadflow.data.decode import DecodeSpec, decode_video
    from vadflow.data.layout import load_labels, load_masks

    spec = DecodeSpec(a.height, a.width, a.color, a.chunk_frames, a.fps)
    labels = load_labels(a.labels) if a.labels else None
    masks = load_masks(a.masks) if a.masks else None
    attrs = decode_video(a.source, a.out, spec, labels=labels, masks=masks)
    print(f"wrote {a.out}: {attrs['n_frames']} frames of {attrs['height']}x{attrs['width']} {a.color}")


def _cmd_list(a: argparse.Namespace) -> None:
    from vadflow.data.pipeline import list_videos

    m = list_videos(a.name, a.adapter, a.root, a.out)
    print(f"wrote {a.out}: {len(m.split('train'))} train and {len(m.split('test'))} test videos")


def _feature_stores(pairs: list[str] | None, n_videos: int) -> dict[str, list[str]]:
    """``--features KEY=STORE[,STORE...]`` (repeatable) -> {key: stores}, one per frame store."""
    out: dict[str, list[str]] = {}
    for pair in pairs or []:
        key, sep, stores = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--features {pair!r}: expected KEY=STORE,STORE,...", "e.g. --features effnet_spp=a.zarr,b.zarr")
        out.setdefault(key, []).extend(s for s in stores.split(",") if s)
    for key, stores in out.items():
        if len(stores) != n_videos:
            raise ConfigError(
                f"--features {key}: {len(stores)} feature stores for {n_videos} frame stores",
                "give one feature store per frame store, in the same order",
            )
    return out


def _cmd_train(a: argparse.Namespace) -> None:
    from vadflow.config import load_config, resolve_method
    from vadflow.methods.run import train

    cfg = load_config(a.config)
    features = _feature_stores(a.features, len(a.stores))
    info = train(resolve_method(cfg, a.method), a.stores, a.out, a.losses, features=features, device=a.device,
                 threads=a.threads)
    print(f"wrote {a.out} ({info['train_seconds']:.1f} s on {info['device']})")


def _cmd_score(a: argparse.Namespace) -> None:
    from vadflow.methods.run import score

    score(a.model, a.stores, a.out, features=_feature_stores(a.features, len(a.stores)), device=a.device,
          threads=a.threads)
    print(f"wrote {a.out}")


def _cmd_calibrate(a: argparse.Namespace) -> None:
    from vadflow.detect import calibrate

    cal = calibrate(a.model, a.stores, _feature_stores(a.features, len(a.stores)), a.out, device=a.device,
                    threads=a.threads)
    print(f"wrote {a.out}: median {cal.median:.6g}, max {cal.max:.6g} over {cal.frames} frames of {cal.videos} videos")


def _cmd_detect(a: argparse.Namespace) -> None:
    import warnings

    from vadflow.detect import detect

    warnings.simplefilter("always", UserWarning)  # each resized video says so
    warnings.formatwarning = lambda message, *_args, **_kw: f"vadflow: warning: {message}\n"
    rows = detect(a.model, a.videos, a.out, threshold=a.threshold, calibration=a.calibration, window=a.window,
                  persistence=a.persistence, device=a.device, threads=a.threads, overlay=not a.no_overlay)
    failed = [r for r in rows if r["error"]]
    print(f"wrote {a.out}/: {len(rows) - len(failed)} video(s) scored, {len(failed)} skipped (detections.csv says why)")
    if failed and len(failed) == len(rows):
        raise SystemExit(2)


def _cmd_evaluate(a: argparse.Namespace) -> None:
    from vadflow.evaluation.results import evaluate

    r = evaluate(a.scores, a.stores, a.out, dataset=a.dataset, convention=a.convention, pixel_coverage=a.coverage)
    fa = r["frame_auc"]
    macro = "n/a" if fa["macro"] is None else f"{100 * fa['macro']:.2f}"
    print(
        f"{r['label']} on {a.dataset}: AUC {100 * fa['minmax_micro']:.2f} (min-max micro), "
        f"{100 * fa['raw_micro']:.2f} (raw micro), {macro} (macro); EER {100 * r['eer']:.2f}"
    )
    ev = r["events"]
    print(f"events (Hasan et al.'s rule): TP/FA {ev['tp_fa']} of {ev['gt_events']} ground-truth events")
    if r["pixel_auc"]:
        print(f"pixel-level AUC {100 * r['pixel_auc']['minmax']:.2f} ({r['pixel_auc']['convention']}, min-max)")
    if r["rbdc_tbdc"]:
        print(f"RBDC {100 * r['rbdc_tbdc']['rbdc']:.2f}, TBDC {100 * r['rbdc_tbdc']['tbdc']:.2f}")


def _cmd_methods(a: argparse.Namespace) -> None:
    from vadflow.methods import method_infos

    for name, info in method_infos().items():
        print(f"{name:18s} {info.supervision.short}  {info.label:34s} {info.implementation.split(':')[0]}")


def _cmd_coherence_tables(a: argparse.Namespace) -> None:
    import torch

    from vadflow.methods.anomalynet.coherence import CoherenceConfig, write_coherence_tables

    torch.set_num_threads(max(1, a.threads))
    timing = write_coherence_tables(a.out, CoherenceConfig(seed=a.seed, epochs=a.epochs))
    for table, seconds in timing.items():
        print(f"{a.out}/{table}.csv ({seconds:.1f} s)")


def _cmd_dvc_yaml(a: argparse.Namespace) -> None:
    from pathlib import Path

    from vadflow.atomic import atomic_path
    from vadflow.reporting.dvc_pipeline import diff, generate

    wanted = generate(a.config, a.output, snakemake=a.snakemake)
    out = Path(a.output)
    current = out.read_text() if out.exists() else ""
    if a.check:
        if current != wanted:
            print(diff(current, wanted, a.output), end="", file=sys.stderr)
            print(f"vadflow: {a.output} is out of date with {a.config}: run `vadflow dvc-yaml`", file=sys.stderr)
            raise SystemExit(1)
        print(f"{a.output} is up to date with {a.config}")
        return
    if current == wanted:
        print(f"{a.output} is up to date with {a.config}")
        return
    with atomic_path(out) as tmp:
        tmp.write_text(wanted)
    print(f"wrote {a.output} from {a.config}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vadflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate a synthetic dataset (MP4 videos in the generic layout)")
    s.add_argument("generator", choices=["walkway", "moving_digits"])
    s.add_argument("out", help="output folder (must not be inside another dataset)")
    s.add_argument("--params", help='generator parameters as JSON, e.g. \'{"n_test": 2}\'')
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--fps", type=float, default=10.0)
    s.add_argument("--color", choices=["rgb", "gray"], default="rgb")
    s.add_argument("--lossless", action="store_true", help="H.264 lossless (any frame size, exact pixels)")
    s.set_defaults(func=_cmd_synth)

    s = sub.add_parser("list", help="list a dataset's videos into a manifest JSON")
    s.add_argument("name")
    s.add_argument("root")
    s.add_argument("out")
    s.add_argument("--adapter", default="generic")
    s.set_defaults(func=_cmd_list)

    s = sub.add_parser("decode", help="decode a video or frame folder into a Zarr frame store")
    s.add_argument("source", help="video file or folder of frames")
    s.add_argument("out", help="output store, e.g. video.zarr")
    s.add_argument("--height", type=int)
    s.add_argument("--width", type=int)
    s.add_argument("--color", choices=["gray", "rgb"], default="gray")
    s.add_argument("--chunk-frames", type=int, default=16)
    s.add_argument("--fps", type=float, default=10.0, help="frame rate of a frame folder")
    s.add_argument("--labels", help="per-frame labels (.npy or text)")
    s.add_argument("--masks", help="pixel masks (.npz, .npy or a folder of images)")
    s.set_defaults(func=_cmd_decode)

    s = sub.add_parser("train", help="train a method configured in a config file on frame stores")
    s.add_argument("method", help="name of an entry under methods: in the config")
    s.add_argument("out", help="checkpoint path (model.pt)")
    s.add_argument("stores", nargs="+", help="training frame stores")
    s.add_argument("--config", default="config/config.yaml")
    s.add_argument("--losses", help="training log CSV (loss per epoch)")
    s.add_argument(
        "--features", action="append", metavar="KEY=STORE,...",
        help="feature stores of the videos, in their order, for each key of the method's input.features (repeatable)",
    )
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--threads", type=int)
    s.set_defaults(func=_cmd_train)

    s = sub.add_parser("score", help="score test frame stores with a trained checkpoint")
    s.add_argument("model")
    s.add_argument("out", help="scores store (scores.zarr)")
    s.add_argument("stores", nargs="+", help="test frame stores")
    s.add_argument(
        "--features", action="append", metavar="KEY=STORE,...",
        help="feature stores of the videos, in their order, for each key of the method's input.features (repeatable)",
    )
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--threads", type=int)
    s.set_defaults(func=_cmd_score)

    s = sub.add_parser("calibrate", help="score a model's normal training videos: the scale detect reports scores on")
    s.add_argument("model")
    s.add_argument("out", help="calibration.json (detect looks beside the model)")
    s.add_argument("stores", nargs="+", help="the model's training frame stores")
    s.add_argument("--features", action="append", metavar="KEY=STORE,...",
                   help="feature stores of the videos, in their order, per key of the method's input.features")
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--threads", type=int)
    s.set_defaults(func=_cmd_calibrate)

    s = sub.add_parser("detect", help="a trained model on new footage: scores, events, timeline, overlay per video")
    s.add_argument("videos", nargs="+", help="video files, folders of videos, or folders of frames")
    s.add_argument("--model", required=True, help="work/<dataset>/models/<method>/model.pt")
    s.add_argument("--out", default="detections", help="output folder, one subfolder per video (default: %(default)s)")
    s.add_argument("--threshold", type=float, help="event threshold on the calibrated score (default 1.0: above"
                   " every normal training frame)")
    s.add_argument("--calibration", help="calibration.json (default: beside the model)")
    s.add_argument("--window", type=int, default=50, help="frames each event spans around its peak (default: %(default)s)")
    s.add_argument("--persistence", type=float, default=0.1, help="persistence a peak needs (default: %(default)s)")
    s.add_argument("--no-overlay", action="store_true", help="no overlay.mp4 even where the method has pixel maps")
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--threads", type=int)
    s.set_defaults(func=_cmd_detect)

    s = sub.add_parser("evaluate", help="frame AUC (three conventions), EER, pixel AUC -> results JSON")
    s.add_argument("scores", help="scores store written by `vadflow score`")
    s.add_argument("out", help="results JSON")
    s.add_argument("stores", nargs="+", help="test frame stores (with labels)")
    s.add_argument("--dataset", default="dataset")
    s.add_argument("--convention", default="minmax_micro", choices=["minmax_micro", "raw_micro", "macro"])
    s.add_argument("--coverage", type=float, default=0.4)
    s.set_defaults(func=_cmd_evaluate)

    s = sub.add_parser("methods", help="list the registered methods")
    s.set_defaults(func=_cmd_methods)

    s = sub.add_parser(
        "coherence-tables",
        help="AnomalyNet (Zhou et al.) Tables 1-2: mutual coherence of dictionaries learned on synthetic data",
    )
    s.add_argument("--out", default="reports/anomalynet", help="folder for table1/table2 .csv/.md (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--epochs", type=int, default=5, help="training epochs per solver (default: %(default)s)")
    s.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    s.set_defaults(func=_cmd_coherence_tables)

    s = sub.add_parser("dvc-yaml", help="write dvc.yaml (one DVC stage per report table) from the config")
    s.add_argument("--config", default="config/config.yaml", help="workflow config (default: %(default)s)")
    s.add_argument("--output", default="dvc.yaml", help="the dvc.yaml, at the repository root (default: %(default)s)")
    s.add_argument("--check", action="store_true", help="write nothing; exit 1 when the file differs from what the config gives")
    s.add_argument("--snakemake", default="snakemake", help="command the stages run (default: %(default)s, from PATH)")
    s.set_defaults(func=_cmd_dvc_yaml)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except VadflowError as exc:
        print(f"vadflow: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
