"""A tiny configuration of every registered method: small networks, one epoch or a few iterations.

Shared by the method contract and the GPU-path tests (``tests/tiny_methods.py`` adds the small
stores they train on) and by the GPU check's CPU dry run (``benchmarks/gpu_check.py --small``).
A new method adds its own entry (tests/test_method_contract.py checks that every registered method
has one). Inputs name the feature keys ``f`` (rows of a frame spec: ``(3, 5)`` per frame in the
tests) and ``rgb`` / ``flow`` (clip features of two streams, as I3D's)."""

from __future__ import annotations

FRAMES = {"channels": [4, 4, 4], "kernels": [5, 3, 3], "batch_size": 8, "epochs": 1}

#: a tiny configuration of every registered method: (input, params). A new method adds its own.
TINY = {
    "conv_ae": ({"clip_length": 4}, {**FRAMES, "first_stride": 2, "first_padding": 2}),
    "convlstm_ae": ({"clip_length": 4}, {**FRAMES, "strides": [2, 2, 2], "lstm_channels": [4]}),
    "nearest_subspace": ({"features": ["f"]}, {"n_atoms": 4}),
    "ocsvm": ({"features": ["f"]}, {}),
    "lstm_ae": ({"features": ["f"]}, {"hidden": 4, "seq_len": 4, "epochs": 1}),
    "tsc": ({"features": ["f"]}, {"n_atoms": 6, "K": 3, "dictionary_iterations": 2, "seq_len": 4}),
    "srnn_ae": ({"features": ["f"]}, {"n_atoms": 6, "iterations": 4, "seq_len": 4, "log_every": 2}),
    "anomalynet": ({"features": ["f"]}, {"n_atoms": 6, "K": 2, "epochs": 1, "batch_size": 4}),
    "adv3d_cae": ({"clip_length": 8, "height": 32, "width": 32},
                  {"channels": [2, 2, 2, 2, 2], "disc_channels": [2, 2, 2], "epochs": 1, "batch_size": 4,
                   "clip_step": 4}),
    "dissociation_ae": ({"clip_length": 5, "height": 16, "width": 16, "color": "rgb"},
                        {"channels": [4, 4, 8], "clusters": 2, "pretrain_epochs": 1, "alternate_epochs": 1,
                         "batch_size": 4, "clip_step": 4, "kmeans_clips": 4}),
    "frame_difference": ({}, {}),
    "mean_frame_distance": ({"height": 32}, {"chunk": 5}),
    "lad_multitask": ({"features": ["rgb", "flow"]}, {"clips": 2, "hidden": 4, "fc": [8, 8], "iterations": 4,
                                                      "batch_size": 4, "log_every": 2}),
    "deepmil": ({"features": ["rgb", "flow"]}, {"segments": 4, "hidden": [8, 4], "iterations": 4, "batch_size": 4,
                                                "log_every": 2}),
}


def kind_of(name: str) -> str:
    """Which stores a method's tiny case trains on: frames, feature rows or clip features."""
    inp = TINY[name][0]
    return "clips" if inp.get("features") == ["rgb", "flow"] else "features" if inp.get("features") else "frames"
