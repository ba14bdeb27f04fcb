"""Parameter-free floors: what a score with nothing learned reaches on a dataset, beside every learned
method in the tables (the reference rows a reader needs to judge a learned figure).

* ``frame_difference``: the squared difference of each pixel to the same pixel of the previous frame;
* ``mean_frame_distance``: the squared difference of each pixel to the mean of the normal training
  frames (the only thing "fit").

Both see the frames as the clip auto-encoders do (gray by default, the entry's ``input.height`` /
``width``, pixels in [0, 1]) and pool a frame's map as they pool their reconstruction-error maps: the
frame score is the **sum of the squared errors over its pixels** (Conv-AE's e(t), Sun et al.'s eq. 13
up to 1/(W·H)). This pooling was fixed before any test result of these methods was looked at. The map
is the frame's pixel map (pixel AUC, RBDC/TBDC and events work as for the auto-encoders). The first
frame of a video has no previous frame: it takes the difference of frames 0 and 1 (so it scores as the
first pair does, rather than 0, which per-video min-max would make the most normal frame of the video).
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.methods.api import InputSpec, MethodInfo, Supervision


@dataclass
class FloorParams:
    #: frames read at once when scoring and when averaging the training frames
    chunk: int = 256
    #: keep the per-pixel maps in the scores store (pixel AUC, RBDC/TBDC); false for datasets without
    #: pixel masks whose maps would be large (UCF-Crime, LAD)
    maps: bool = True


_RESOURCES = {"mem_mb": 2000, "runtime": 30, "threads": 1, "gpu": 0}

METHODS = [
    MethodInfo(
        name="frame_difference",
        label="Frame difference (floor)",
        Params=FloorParams,
        implementation="vadflow.methods.floor.method:FrameDifference",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(color="gray"),
        resources=_RESOURCES,
        paper="parameter-free floor: squared difference to the previous frame, summed over the pixels",
        seeded=False,
    ),
    MethodInfo(
        name="mean_frame_distance",
        label="Distance to the mean frame (floor)",
        Params=FloorParams,
        implementation="vadflow.methods.floor.method:MeanFrameDistance",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(color="gray"),
        resources=_RESOURCES,
        paper="parameter-free floor: squared difference to the mean normal training frame, summed over the pixels",
        seeded=False,
    ),
]

#: the registered floors (tables treat their rows as the reference)
FLOORS = tuple(info.name for info in METHODS)
