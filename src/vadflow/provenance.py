"""What a trained model was trained on, recorded in its checkpoint (``inputs``), so that ``vadflow detect``
can decode new footage and extract its features as the training videos were: written by training
(``methods.run.train``), read by ``detect``. A floor below both (neither imports the other for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def model_inputs(frame_store, feature_stores: dict[str, Any]) -> dict[str, Any]:
    """The decode settings, frame size and colour of a training video, and every feature spec the
    method reads with the specs it is computed from (``{key: {**spec, source: key}}``, ids kept).
    Stores not written by the workflow's steps (made by hand) give ``{"missing": why}``."""
    try:
        return _model_inputs(frame_store, feature_stores)
    except KeyError as exc:
        return {"missing": f"the training store {frame_store.path} has no {exc} attribute (not written by"
                           " vadflow's decode step)"}


def _model_inputs(frame_store, feature_stores: dict[str, Any]) -> dict[str, Any]:
    from vadflow.features.spec import key_of
    from vadflow.features.store import FeatureStore

    attrs = frame_store.attrs
    features: dict[str, dict[str, Any]] = {}

    def walk(store: FeatureStore, key: str) -> str:
        a = store.attrs
        if "spec_id" not in a or "spec" not in a:  # not written by the feature step (e.g. made by hand)
            features[key] = {"spec": None, "spec_id": None, "store": str(store.path)}
            return key
        key = key_of(a["spec_id"])
        if key not in features:
            spec = dict(a["spec"])
            source = Path(a.get("source") or "")
            source_attrs = zarr_attrs(source) if source.exists() else {}
            if "spec_id" in source_attrs:  # computed from another feature store
                spec["source"] = walk(FeatureStore(source), key_of(source_attrs["spec_id"]))
            features[key] = {"spec": spec, "spec_id": a["spec_id"]}
        return key

    keys = [walk(store, key) for key, store in feature_stores.items()]
    return {
        "decode": dict(attrs["decode"]),
        "height": int(attrs["height"]),
        "width": int(attrs["width"]),
        "color": attrs["decode"]["color"],
        "fps": float(attrs.get("fps") or 10.0),
        "features": features,
        "feature_keys": dict(zip(feature_stores, keys)),  # the method's input key -> the spec's key
    }


def zarr_attrs(path: Path) -> dict[str, Any]:
    import zarr

    try:
        return dict(zarr.open_group(str(path), mode="r").attrs)
    except Exception:  # not a Zarr group
        return {}


