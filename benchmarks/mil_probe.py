"""Diagnosis of issue 30: does DeepMIL fit its own training bags on the walkway? The share of each anomalous
training video's anomalous frames that score above the highest score of any normal training video. Run in a
workflow directory with a trained walkway deepmil:  .venv/bin/python benchmarks/mil_probe.py  (docs/papers/lad.md)."""
import glob, os, numpy as np
from vadflow.methods.engine.log import load_checkpoint
from vadflow.methods.api import MethodRun
from vadflow.methods import get_method_class
from vadflow.methods.run import open_videos
fd = {k: [x for x in os.listdir("work/walkway/features") if x.startswith(k + "-")][0] for k in ("i3d_rgb", "i3d_flow")}
stores = sorted(glob.glob("work/walkway/frames/train/*.zarr"))
feats = {k: [f"work/walkway/features/{fd[k]}/train/{os.path.basename(p)}" for p in stores] for k in fd}
ck = load_checkpoint("work/walkway/models/deepmil/model.pt")
run = MethodRun.from_dict(ck["config"]); m = get_method_class(run.method)(run, "cpu"); m.load_state(ck["state"])
normal_max, anomalous = [], []
for v in open_videos(stores, feats):
    s = m.score_video(v).scores
    lab = v.frames.labels
    if lab is None or not lab.any():
        normal_max.append(s.max())
    else:
        anomalous.append((v.name, s[lab.astype(bool)]))
top = max(normal_max)
print("params", {k: ck["config"]["params"][k] for k in ("iterations", "lambda_sparse", "lambda_smooth")})
print("highest score of a normal training video: %.3f" % top)
for name, s in anomalous:
    print(name, "anomalous frames above it: %.2f, max %.3f, median %.3f" % ((s > top).mean(), s.max(), np.median(s)))
