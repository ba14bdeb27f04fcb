"""Dump one feature spec of a workflow's dataset (train rows, test rows, test frame labels) to an .npz,
for the diagnosis scripts beside this one.

    python dump_features.py work/ped2 effnet_spp-a6706d28 /tmp/ped2_effnet_spp.npz
"""

import sys
from pathlib import Path

import numpy as np

from vadflow.methods.api import VideoInput


def main(root: str, key: str, out: str) -> None:
    root_path, arrays = Path(root), {}
    for split in ("train", "test"):
        for frames in sorted((root_path / "frames" / split).glob("*.zarr")):
            video = VideoInput.open(frames, {"x": root_path / "features" / key / split / frames.name}, None)
            arrays[f"{split}/{frames.stem}"] = video.feature("x").per_frame().astype(np.float32)
            if split == "test":
                arrays[f"label/{frames.stem}"] = np.asarray(video.frames.labels)
    np.savez(out, **arrays)
    print(f"{out}: {sum(k.startswith('train/') for k in arrays)} train, {sum(k.startswith('test/') for k in arrays)} test videos")


if __name__ == "__main__":
    main(*sys.argv[1:4])
