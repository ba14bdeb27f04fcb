"""BatchNorm over the global batch when several processes train together (DDP).

Under DDP each rank holds a share of the batch; plain BatchNorm would normalise each share by its
own statistics, so W ranks would not train the model one process trains on the same global batch
(Sun et al.'s and Chang et al.'s networks have BatchNorm). ``torch.nn.SyncBatchNorm`` does this on
GPUs only; this layer does it on any backend (gloo on the CPU included, so the tests can check that
2 ranks equal 1 process): the per-channel count, sum and sum of squares are all-reduced with
autograd (``torch.distributed.nn``), so the gradient flows through the global statistics as it does
through a single process's. In eval mode, or with one process, it is the layer it replaced.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class GlobalBatchNorm(_BatchNorm):
    """A BatchNorm (1d/2d/3d alike) whose training statistics are the global batch's."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        c = x.shape[1]
        dims = [0, *range(2, x.dim())]
        xf = x.float()
        local = torch.cat([xf.sum(dims), (xf * xf).sum(dims),
                           torch.full((1,), x.numel() / c, dtype=torch.float32, device=x.device)])
        from torch.distributed.nn.functional import all_reduce

        total = all_reduce(local)
        n = total[-1]
        mean = total[:c] / n
        var = (total[c : 2 * c] / n - mean * mean).clamp_min(0.0)  # biased, as BatchNorm normalises
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                unbiased = var * n / (n - 1).clamp_min(1.0)
                self.running_mean.mul_(1 - momentum).add_(momentum * mean.to(self.running_mean.dtype))
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased.to(self.running_var.dtype))
        shape = (1, c) + (1,) * (x.dim() - 2)
        y = (xf - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + self.eps)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y.to(x.dtype)


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """Turn every BatchNorm layer of ``module`` into a ``GlobalBatchNorm`` in place (same parameters,
    buffers and state-dict keys). Returns the module (or the new layer, if it was one)."""
    if isinstance(module, _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        module.__class__ = GlobalBatchNorm
        return module
    for child in module.children():
        convert_batchnorm(child)
    return module


__all__ = ["GlobalBatchNorm", "convert_batchnorm"]
