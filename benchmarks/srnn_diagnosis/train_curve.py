"""The sRNN-AE's training curve on a feature dump (issue 13's Ped2 diagnosis): the reconstruction error
of 3 held-out training videos (what a choice may use) and, for diagnosis only, the test frame AUC,
every --every steps. --old-batch reproduces the former batches (4 single-cell windows, errors averaged)
against the current ones (4 clips x all cells, errors summed: eq. 9's Frobenius norm).

    python train_curve.py /tmp/ped2_effnet_spp.npz --atoms 256 --iters 2000 --lr 1e-5
"""

import argparse
import time

import numpy as np
import torch

from vadflow.evaluation.metrics import frame_level_auc
from vadflow.methods.srnn.sparse_coding import SRNNAE, frame_errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("npz")
    ap.add_argument("--atoms", type=int, default=256)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--beta", type=float, default=0.005)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--old-batch", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    z = np.load(a.npz)

    def cells(x: np.ndarray) -> torch.Tensor:  # (T, P, C) -> l2-normalised (P, T, C)
        s = np.transpose(x, (1, 0, 2))
        return torch.from_numpy(np.ascontiguousarray(s / np.maximum(np.linalg.norm(s, axis=-1, keepdims=True), 1e-8), np.float32))

    names = sorted(k for k in z if k.startswith("train/"))
    fit, val = [cells(z[k]) for k in names[:-3]], [cells(z[k]) for k in names[-3:]]
    test = {k[5:]: cells(z[k]) for k in z if k.startswith("test/")}
    labels = {k[6:]: z[k] for k in z if k.startswith("label/")}
    pool = torch.cat([f.reshape(-1, f.shape[-1]) for f in fit])
    g = torch.Generator().manual_seed(0)
    A = pool[torch.randperm(len(pool), generator=g)[: a.atoms]].T.contiguous()
    model = SRNNAE(pool.shape[1], a.atoms, 3, A=A)
    opt = torch.optim.RMSprop([p for p in model.parameters() if p.requires_grad], lr=a.lr, alpha=0.9)

    def batch() -> torch.Tensor:
        out = []
        for _ in range(4):
            v = fit[int(torch.randint(len(fit), (1,), generator=g))]
            s = int(torch.randint(v.shape[1] - 9, (1,), generator=g))
            out.append(v[int(torch.randint(v.shape[0], (1,), generator=g)), s:s + 10][None] if a.old_batch else v[:, s:s + 10])
        return torch.cat(out)

    def report(step: int, t0: float) -> None:
        model.eval()
        with torch.no_grad():
            held_out = float(np.mean([float(frame_errors(v, model(v)[0]).mean()) for v in val]))
            auc = frame_level_auc({n: frame_errors(x, model(x)[0]).amax(0).double().numpy() for n, x in test.items()}, labels)
        model.train()
        print(f"step {step:6d}  held-out error {held_out:.4f}  |A| {float(model.A.norm()):.1f}  |Z| {float(model.Z.norm()):.1f}"
              f"  [diagnosis only: test AUC {100 * auc['minmax_micro']:.2f}]  {time.time() - t0:.0f}s", flush=True)

    t0 = time.time()
    report(0, t0)
    for step in range(1, a.iters + 1):
        x = batch()
        err = (x - model(x)[0]) ** 2
        recon = err.sum((1, 2)).mean() if a.old_batch else err.sum()
        loss = recon + a.beta * sum((p ** 2).sum() for p in model.parameters() if p.requires_grad)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % a.every == 0:
            report(step, t0)


if __name__ == "__main__":
    main()
