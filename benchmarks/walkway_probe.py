"""Diagnosis of issue 30: does a linear probe on the I3D clip features separate anomalous from normal clips?
Trained on the training videos' clip labels, scored on the test videos (clip AUC per video, raw-micro frame AUC),
and left one training video out at a time. Run in a workflow directory that has the walkway's I3D features
(after make table3):  .venv/bin/python benchmarks/walkway_probe.py   (docs/papers/lad.md)."""
import glob, os, numpy as np
from vadflow.features.store import FeatureStore
from vadflow.data.store import FrameStore
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
fd = {k: [x for x in os.listdir("work/walkway/features") if x.startswith(k + "-")][0] for k in ("i3d_rgb", "i3d_flow")}
def load(split):
    out = []
    for p in sorted(glob.glob(f"work/walkway/frames/{split}/*.zarr")):
        name = os.path.basename(p)
        fs = [FeatureStore(f"work/walkway/features/{fd[k]}/{split}/{name}") for k in ("i3d_rgb", "i3d_flow")]
        if not all(f.path.exists() for f in fs): continue
        x = np.concatenate([f.read().astype(np.float32).reshape(len(f.read()), -1) for f in fs], 1)
        w = fs[0].windows
        lab = FrameStore(p).labels
        lab = np.zeros(FrameStore(p).n_frames) if lab is None else lab
        y = np.array([lab[a:b].max() for a, b in w])
        out.append((name, x, y, w, lab, fs[0].frame_index))
    return out
train, test = load("train"), load("test")
print("train videos", [(n, int(y.sum()), len(y)) for n, x, y, *_ in train])
X = np.concatenate([t[1] for t in train]); Y = np.concatenate([t[2] for t in train])
# leave-one-video-out on the training videos
scores, truth = [], []
for i in range(len(train)):
    Xi = np.concatenate([t[1] for j, t in enumerate(train) if j != i]); Yi = np.concatenate([t[2] for j, t in enumerate(train) if j != i])
    sc = StandardScaler().fit(Xi); clf = LogisticRegression(C=0.1, max_iter=2000).fit(sc.transform(Xi), Yi)
    scores.append(clf.decision_function(sc.transform(train[i][1]))); truth.append(train[i][2])
print("leave-one-training-video-out clip AUC:", round(100 * roc_auc_score(np.concatenate(truth), np.concatenate(scores)), 1))
sc = StandardScaler().fit(X); clf = LogisticRegression(C=0.1, max_iter=2000).fit(sc.transform(X), Y)
fs, fl = [], []
for n, x, y, w, lab, fidx in test:
    s = clf.decision_function(sc.transform(x)); fs.append(s[fidx]); fl.append(lab)
    print(n, "test clip AUC", round(100 * roc_auc_score(y, s), 1) if 0 < y.mean() < 1 else None)
print("test frame AUC (raw micro) of the linear probe:", round(100 * roc_auc_score(np.concatenate(fl), np.concatenate(fs)), 1))
