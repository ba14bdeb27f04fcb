"""Diagnosis of issue 30: how much AnomalyNet's codes carry on the walkway (mean ||Bs||^2, active coefficients,
error on normal and anomalous test units) for the default entry, lambda 0.5 and ISTA. Run in a workflow directory
where those models are trained (snakemake results/walkway/anomalynet_lam05.json results/walkway/anomalynet_ista.json):
    .venv/bin/python benchmarks/anomalynet_codes.py   (docs/papers/anomalynet.md)."""
import glob, numpy as np, torch
from vadflow.methods.run import open_videos
from vadflow.methods.engine.log import load_checkpoint
from vadflow.methods.api import MethodRun
from vadflow.methods import get_method_class
import os
feat = {k: sorted(glob.glob(f"work/walkway/features/{d}/test/*.zarr")) for k, d in
        [("effnet_dynamic", [x for x in os.listdir("work/walkway/features") if x.startswith("effnet_dynamic-")][0]),
         ("effnet_spp", [x for x in os.listdir("work/walkway/features") if x.startswith("effnet_spp-")][0])]}
stores = sorted(glob.glob("work/walkway/frames/test/*.zarr"))
for m in ["anomalynet", "anomalynet_lam05", "anomalynet_ista"]:
    ck = load_checkpoint(f"work/walkway/models/{m}/model.pt")
    run = MethodRun.from_dict(ck["config"]); meth = get_method_class(run.method)(run, "cpu"); meth.load_state(ck["state"])
    meth.model.eval()
    B = meth.model.dictionary().detach()
    for v in open_videos(stores, feat):
        samples, fidx = meth.units(v)
        x = torch.from_numpy(samples).reshape(-1, samples.shape[-1])
        with torch.no_grad():
            s = meth.model(x)
        active = (s.abs() > 1e-6).float().sum(1).reshape(samples.shape[0], -1)  # per unit, per sample
        err = ((x - s @ B.T) ** 2).sum(-1).reshape(samples.shape[0], -1)
        lab = v.frames.labels[fidx]
        # per unit: label = any frame of unit anomalous? use the frame->unit map: unit label = mean of its frames
        unit_lab = np.zeros(samples.shape[0]); cnt = np.zeros(samples.shape[0])
        np.add.at(unit_lab, fidx, v.frames.labels); np.add.at(cnt, fidx, 1); unit_lab = unit_lab / np.maximum(cnt, 1) > 0.5
        a = active.mean(1).numpy(); e = err.mean(1).numpy()
        print(m, v.name, f"nonzero codes/sample: normal {a[~unit_lab].mean():.2f} anomalous {a[unit_lab].mean() if unit_lab.any() else float('nan'):.2f};",
              f"error: normal {e[~unit_lab].mean():.4f} anomalous {e[unit_lab].mean() if unit_lab.any() else float('nan'):.4f};",
              f"|Bs|^2 normal {((s @ B.T)**2).sum(-1).reshape(samples.shape[0], -1).mean(1).numpy()[~unit_lab].mean():.4f}")
