"""Zarr v3 feature stores: one per (video, feature spec).

Layout: ``features`` (N, ...) float16/float32 chunked along N, where a row is a frame
(frame, temporal_max, flow kinds) or a window of frames (dynamic_image, i3d);
``frame_index`` (T,) int32, the row that represents each frame (so every method can
give per-frame scores); ``windows`` (N, 2) [start, end) for window kinds.
Attributes: the spec, its id, backbone and weights sha256, source store, package version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from vadflow.data.store import GrowingArray, ZarrStore
from vadflow.errors import DataError

#: float features compress a little with byte shuffling; speed matters more than size
FEATURE_COMPRESSOR = BloscCodec(cname="lz4", clevel=1, shuffle="shuffle")


class FeatureStoreWriter:
    def __init__(self, path: str | Path, row_shape: tuple[int, ...], dtype: str, chunk_rows: int, expected: int = 0):
        self.group = zarr.open_group(str(path), mode="w", zarr_format=3)
        self._rows = GrowingArray(
            self.group, "features", row_shape, dtype, chunk_rows, expected=expected, compressors=FEATURE_COMPRESSOR
        )

    @property
    def n_rows(self) -> int:
        return self._rows.n_rows

    def append(self, rows: np.ndarray, where: str) -> None:
        if not np.isfinite(rows).all():
            bad = int(np.flatnonzero(~np.isfinite(rows.reshape(len(rows), -1)).all(axis=1))[0]) + self.n_rows
            raise DataError(
                f"{where}: the features of row {bad} are not finite (NaN or inf)",
                "check the input frames and the backbone's weights file (a corrupt checkpoint gives NaN)",
            )
        self._rows.append(rows)

    def finish(self, frame_index: np.ndarray, windows: np.ndarray | None, attrs: dict[str, Any]) -> None:
        self._rows.close()
        self.group.create_array("frame_index", data=np.asarray(frame_index, np.int32))
        if windows is not None:
            self.group.create_array("windows", data=np.asarray(windows, np.int32))
        self.group.attrs.update({**attrs, "n_rows": self.n_rows, "n_frames": int(len(frame_index))})


@dataclass
class FeatureStore(ZarrStore):
    """Read access to one (video, spec) feature store."""

    kind = "feature store"
    made_by = "the feature extraction step"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.features = self.group["features"]

    @property
    def frame_index(self) -> np.ndarray:
        return np.asarray(self.group["frame_index"][:])

    @property
    def windows(self) -> np.ndarray | None:
        return np.asarray(self.group["windows"][:]) if "windows" in self.group else None

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        return np.asarray(self.features[start:stop])

    def per_frame(self, dtype=np.float32) -> np.ndarray:
        """One row per frame (window kinds repeat each window's row for its frames)."""
        return self.read().astype(dtype)[self.frame_index]


def write_feature_index(spec_id: str, stores: dict[str, list[str]], out: str | Path) -> None:
    """A JSON index of a spec's stores (per split), with each store's shape: a convenient target."""
    import json

    from vadflow.atomic import atomic_path

    index: dict[str, Any] = {"spec_id": spec_id, "spec": None, "splits": {}}
    for split, paths in stores.items():
        entries = index["splits"][split] = []
        for p in paths:
            store = FeatureStore(p)  # opened once per video
            shape = store.features.shape
            entries.append({"video": store.name, "path": str(p), "rows": int(shape[0]), "row_shape": list(shape[1:])})
            index["spec"] = index["spec"] or store.attrs.get("spec")
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(index, indent=1))
