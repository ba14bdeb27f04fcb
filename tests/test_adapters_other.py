"""Adapters for Subway, UMN, UCF-Crime and LAD, and the deterministic splits (vadflow.data.splits).

Miniature datasets in each published (or assumed) layout are built from tiny videos; the real
UCF-Crime annotation files are read from the shared data folder where present.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import vadflow.data.adapters.lad as lad
import vadflow.data.adapters.subway as subway
import vadflow.data.adapters.ucf_crime as ucf
import vadflow.data.adapters.umn as umn
from conftest import SHARED_DATASETS, moving_square
from vadflow.data import splits
from vadflow.data.encode import write_mp4
from vadflow.data.layout import Manifest, VideoEntry, discover
from vadflow.data.pipeline import decode_manifest_entry
from vadflow.data.store import FrameStore
from vadflow.data.supervision import apply_supervision
from vadflow.errors import DataError

UCF_ANNOTATIONS = SHARED_DATASETS / "annotations" / "ucf_crime"
SMALL = {"height": 16, "width": 16}  # decode settings: tiny stores keep the tests fast


def tiny_video(path: Path, n: int, seed: int = 0, fps: float = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_mp4(moving_square(n, h=32, w=32, size=8, seed=seed), path, fps=fps)
    return path


def by_name(m: Manifest, split: str) -> dict[str, VideoEntry]:
    return {v.name: v for v in m.split(split)}


# --- Subway -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def subway_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("subway")
    tiny_video(root / "entrance.mp4", 60)  # 6 s at 10 fps
    (root / "entrance.txt").write_text("# start end, 1-indexed, inclusive\n41 45\n51, 52\n")
    return root


def test_subway_prefix_and_test_segment(subway_root: Path):
    m = discover("subway_entrance", "subway", subway_root, options={"train_minutes": 0.05})  # 3 s = 30 frames
    (train,), (test,) = m.split("train"), m.split("test")
    assert train.meta["frame_range"] == [0, 30] and train.n_frames == 30 and train.video_label == 0
    assert test.meta["frame_range"] == [30, None] and test.n_frames is None  # probed length is only an estimate
    assert test.label_intervals == [[10, 15], [20, 22]]  # relative to the test segment
    assert test.video_label == 1 and test.source == train.source and test.meta["n_frames_probed"] == 60
    assert m.adapter == "subway"


def test_subway_exact_count_and_conventions(subway_root: Path, tmp_path: Path):
    (tmp_path / "zero.txt").write_text("40 45\n")  # 0-indexed, end exclusive
    m = subway.discover_subway("s", subway_root, annotation=str(tmp_path / "zero.txt"), one_indexed=False,
                               inclusive=False, train_minutes=0.05, fps=10, n_frames=60)  # fmt: skip
    test = m.split("test")[0]
    assert test.meta["frame_range"] == [30, 60] and test.n_frames == 30 and test.label_intervals == [[10, 15]]
    assert test.meta["n_frames_probed"] is None  # fps and n_frames given: no probe


def test_subway_default_training_prefix_is_15_minutes():
    assert inspect.signature(subway.discover_subway).parameters["train_minutes"].default == 15


@pytest.mark.parametrize(
    ("text", "match"),
    [("10 20\n", "inside the training prefix"), ("55 70\n", "has 60 frames"), ("5\n", "two frame numbers"),
     ("45 41\n", "empty or starts before")],
)  # fmt: skip
def test_subway_annotation_errors(subway_root: Path, tmp_path: Path, text: str, match: str):
    (tmp_path / "bad.txt").write_text(text)
    with pytest.raises(DataError, match=match):
        subway.discover_subway("s", subway_root, annotation=str(tmp_path / "bad.txt"), train_minutes=0.05,
                               n_frames=60, fps=10)  # fmt: skip


def test_subway_layout_errors(tmp_path: Path, subway_root: Path):
    with pytest.raises(DataError, match="expected one long video .* found 0 video files"):
        subway.discover_subway("s", tmp_path)
    with pytest.raises(DataError, match="video .*clip.mp4 does not exist"):
        subway.discover_subway("s", tmp_path, video="clip.mp4")
    (tmp_path / "clip.mp4").symlink_to(subway_root / "entrance.mp4")
    with pytest.raises(DataError, match="no anomaly annotation for clip.mp4") as e:
        subway.discover_subway("s", tmp_path)
    assert "options.annotation" in str(e.value)
    with pytest.raises(DataError, match="prefix of 15.0 min is 9000 frames"):
        subway.discover_subway("s", subway_root)


def test_subway_segments_decode(subway_root: Path, tmp_path: Path):
    """Decoding an entry keeps its segment of the file (meta['frame_range']), with labels relative to it."""
    m = discover("s", "subway", subway_root, options={"train_minutes": 0.05})
    m.write(tmp_path / "m.json")
    for split, name, n, positives in (("train", "entrance_train", 30, 0), ("test", "entrance_test", 30, 7)):
        decode_manifest_entry(tmp_path / "m.json", split, name, tmp_path / f"{name}.zarr", SMALL)
        store = FrameStore(tmp_path / f"{name}.zarr")
        assert store.n_frames == n and int(store.labels.sum() if store.labels is not None else 0) == positives


# --- UMN --------------------------------------------------------------------------------------

UMN_BOUNDARIES = """\
scene,video,start,end,anomaly_start
# lawn and the first indoor clip share one file, as in the combined UMN video
lawn,all.mp4,1,20,15
indoor,all.mp4,21,40,31
indoor,more/indoor2.mp4,1,30,21
"""


@pytest.fixture(scope="module")
def umn_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("umn")
    tiny_video(root / "all.mp4", 40, seed=1)
    tiny_video(root / "more" / "indoor2.mp4", 30, seed=2)
    (root / "boundaries.csv").write_text(UMN_BOUNDARIES)
    return root


def test_umn_protocol(umn_root: Path):
    m = discover("umn", "umn", umn_root)
    train, test = by_name(m, "train"), by_name(m, "test")
    assert sorted(train) == ["indoor_clip1_train", "lawn_clip1_train"]
    assert train["lawn_clip1_train"].meta["frame_range"] == [0, 14] and train["lawn_clip1_train"].n_frames == 14
    assert train["indoor_clip1_train"].meta["frame_range"] == [20, 30]
    assert test["lawn_clip1_test"].meta["frame_range"] == [14, 20]
    assert test["lawn_clip1_test"].label_intervals == [[0, 6]]
    assert test["indoor_clip1_test"].meta["frame_range"] == [30, 40]
    assert test["indoor_clip2_test"].meta["frame_range"] == [0, 30]
    assert test["indoor_clip2_test"].label_intervals == [[20, 30]]
    assert test["indoor_clip2_test"].source.endswith("indoor2.mp4")
    assert all(v.meta["scene"] in ("lawn", "indoor") and v.n_frames for v in m.videos)
    # the boundary of each scene's first clip is its first anomalous frame: a split made from the labels,
    # which the protocol cards report (a later clip of the scene is not cut)
    assert "first anomalous frame" in train["lawn_clip1_train"].meta["split_from_labels"]
    assert "first anomalous frame" in test["lawn_clip1_test"].meta["split_from_labels"]
    assert "split_from_labels" not in test["indoor_clip2_test"].meta


def test_umn_one_scene(umn_root: Path):
    """AnomalyNet Table 6 (and the papers it follows) evaluate each UMN scene on its own."""
    m = discover("umn", "umn", umn_root, options={"scene": "indoor"})
    assert sorted(v.name for v in m.videos) == ["indoor_clip1_test", "indoor_clip1_train", "indoor_clip2_test"]
    with pytest.raises(DataError, match="no clip of scene 'plaza'") as e:
        discover("umn", "umn", umn_root, options={"scene": "plaza"})
    assert "indoor, lawn" in str(e.value)


def test_umn_segment_decodes(umn_root: Path, tmp_path: Path):
    m = umn.discover_umn("umn", umn_root)
    m.write(tmp_path / "m.json")
    decode_manifest_entry(tmp_path / "m.json", "test", "indoor_clip1_test", tmp_path / "i.zarr", SMALL)
    store = FrameStore(tmp_path / "i.zarr")
    assert store.n_frames == 10 and store.labels.tolist() == [1] * 10


def test_umn_train_frames_and_explicit_split(umn_root: Path, tmp_path: Path):
    m = umn.discover_umn("umn", umn_root, train_frames=5)
    assert by_name(m, "train")["lawn_clip1_train"].meta["frame_range"] == [0, 5]
    assert by_name(m, "test")["lawn_clip1_test"].label_intervals == [[9, 15]]
    explicit = tmp_path / "b.txt"
    explicit.write_text("lawn all.mp4 1 10 -1 train\nlawn all.mp4 11 20 15 test\nindoor all.mp4 21 40 31\n")
    m = umn.discover_umn("umn", umn_root, boundaries=str(explicit))
    assert [v.name for v in m.split("train")] == ["lawn_clip1_train", "indoor_clip1_train"]
    assert by_name(m, "test")["lawn_clip2_test"].label_intervals == [[4, 10]]


@pytest.mark.parametrize(
    ("text", "match"),
    [("lawn all.mp4 1 20 25\n", "outside the clip"),
     ("lawn all.mp4 1 20 15\nlawn all.mp4 18 30 25\n", "overlap"),
     ("lawn gone.mp4 1 20 15\n", "gone.mp4 does not exist"),
     ("lawn all.mp4 1 20\n", "expected the columns"),
     ("lawn all.mp4 1 20 15 train\n", "marked train"),
     ("lawn all.mp4 1 400 300\n", "about 40 frames")],
)  # fmt: skip
def test_umn_boundary_errors(umn_root: Path, tmp_path: Path, text: str, match: str):
    (tmp_path / "b.txt").write_text(text)
    with pytest.raises(DataError, match=match):
        umn.discover_umn("umn", umn_root, boundaries=str(tmp_path / "b.txt"))


def test_umn_layout_errors(umn_root: Path, tmp_path: Path):
    with pytest.raises(DataError, match="expects a boundary file") as e:
        umn.discover_umn("umn", tmp_path)
    assert "docs/datasets.md" in str(e.value)
    with pytest.raises(DataError, match="does not fit the 14 normal frames"):
        umn.discover_umn("umn", umn_root, train_frames=20)


# --- UCF-Crime: the real annotation files ------------------------------------------------------

# Test videos per class in the official temporal annotation (140 anomalous + 150 normal).
UCF_TEST_CLASSES = {
    "Normal": 150, "RoadAccidents": 23, "Shooting": 23, "Explosion": 21, "Shoplifting": 21, "Burglary": 13,
    "Arson": 9, "Arrest": 5, "Fighting": 5, "Robbery": 5, "Stealing": 5, "Vandalism": 5, "Assault": 3, "Abuse": 2,
}  # fmt: skip
# Read as 1-indexed inclusive frames, these intervals end past the New file's frame count.
UCF_OVERRUNS = {
    "Arson011_x264.mp4": (1267, 1266), "Arson016_x264.mp4": (1796, 1795), "Explosion033_x264.mp4": (3156, 3154),
    "Fighting003_x264.mp4": (3103, 3102), "Shooting015_x264.mp4": (1715, 1713),
}  # fmt: skip
needs_ucf = pytest.mark.skipif(not UCF_ANNOTATIONS.is_dir(), reason=f"no UCF-Crime annotations in {UCF_ANNOTATIONS}")


@pytest.mark.realdata
@needs_ucf
def test_ucf_official_annotation():
    official = ucf.parse_temporal_annotation(UCF_ANNOTATIONS / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt")
    new = ucf.parse_temporal_annotation(UCF_ANNOTATIONS / "Temporal_Anomaly_Annotation_New.txt")
    assert len(official) == len(new) == 290  # every line parsed
    classes = {}
    for a in official.values():
        classes[a.category] = classes.get(a.category, 0) + 1
        assert a.video.startswith(a.category if a.category != "Normal" else "Normal_Videos")
    assert classes == UCF_TEST_CLASSES
    assert sum(1 for a in official.values() if len(a.intervals) == 2) > 0
    for video, a in official.items():  # the New file repeats the official columns and adds the frame count
        assert new[video].raw == a.raw and new[video].category == a.category and a.n_frames is None
        assert new[video].n_frames and new[video].n_frames >= 150
        for (s, e), nxt in zip(a.intervals, a.intervals[1:]):
            assert s < e <= nxt[0]  # the two intervals are ordered and do not overlap


@pytest.mark.realdata
@needs_ucf
def test_ucf_intervals_within_frame_counts():
    """Honest record: five intervals end 1-2 frames past the stated frame count (seven when read 0-indexed)."""
    new = ucf.parse_temporal_annotation(UCF_ANNOTATIONS / "Temporal_Anomaly_Annotation_New.txt")
    assert ucf.interval_overruns(new) == UCF_OVERRUNS
    zero_based = ucf.parse_temporal_annotation(UCF_ANNOTATIONS / "Temporal_Anomaly_Annotation_New.txt",
                                               one_indexed=False)  # fmt: skip
    assert set(ucf.interval_overruns(zero_based)) == set(UCF_OVERRUNS) | {"Assault006_x264.mp4", "Shooting046_x264.mp4"}
    assert all(a.intervals[0][0] >= 0 for a in new.values() if a.intervals)


# --- UCF-Crime: a miniature copy in the published layout ---------------------------------------

UCF_MINI = {  # listed path -> frames
    "Abuse/Abuse001_x264.mp4": 16,
    "Training_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4": 16,
    "Training_Normal_Videos_Anomaly/Normal_Videos002_x264.mp4": 16,
    "Abuse/Abuse028_x264.mp4": 20,
    "Arrest/Arrest001_x264.mp4": 20,
    "Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4": 12,
}
UCF_MINI_ANNOTATION = [  # same columns as the official file; the New file appends the frame count
    ("Abuse028_x264.mp4", "Abuse", 3, 6, 10, 12, 20),
    ("Arrest001_x264.mp4", "Arrest", 5, 21, -1, -1, 20),  # ends one frame past the video, like Arson016
    ("Normal_Videos_003_x264.mp4", "Normal", -1, -1, -1, -1, 12),
]


@pytest.fixture(scope="module")
def ucf_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ucf")
    for i, (listed, n) in enumerate(UCF_MINI.items()):
        tiny_video(root / listed, n, seed=i)
    splits_dir = root / "UCF_Crimes-Train-Test-Split" / "Anomaly_Detection_splits"
    splits_dir.mkdir(parents=True)
    (splits_dir / "Anomaly_Train.txt").write_text("\n".join(list(UCF_MINI)[:3]) + "\n")
    (splits_dir / "Anomaly_Test.txt").write_text("\n".join(list(UCF_MINI)[3:]) + "\n")
    (root / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt").write_text(
        "".join("  ".join(map(str, row[:6])) + "  \n" for row in UCF_MINI_ANNOTATION))
    (root / "Temporal_Anomaly_Annotation_New.txt").write_text(
        "".join("\t".join(map(str, row)) + "\n" for row in UCF_MINI_ANNOTATION))
    return root


def test_ucf_discovery(ucf_root: Path, tmp_path: Path):
    m = discover("ucf", "ucf_crime", ucf_root, options={}, supervision="weakly")
    train, test = by_name(m, "train"), by_name(m, "test")
    assert sorted(train) == ["Abuse001_x264", "Normal_Videos001_x264", "Normal_Videos002_x264"]
    assert train["Abuse001_x264"].video_label == 1 and train["Abuse001_x264"].category == "Abuse"
    assert train["Normal_Videos001_x264"].video_label == 0 and train["Normal_Videos001_x264"].category == "Normal"
    assert all(v.label_intervals is None and v.labels is None for v in train.values())
    abuse = test["Abuse028_x264"]
    assert abuse.label_intervals == [[2, 6], [9, 12]] and abuse.n_frames == 20 and abuse.video_label == 1
    arrest = test["Arrest001_x264"]
    assert arrest.label_intervals == [[4, 20]] and arrest.meta["clipped"] == [[4, 21]]
    normal = test["Normal_Videos_003_x264"]
    assert normal.label_intervals == [] and normal.video_label == 0 and normal.category == "Normal"
    m.write(tmp_path / "m.json")
    decode_manifest_entry(tmp_path / "m.json", "test", "Abuse028_x264", tmp_path / "a.zarr", SMALL)
    store = FrameStore(tmp_path / "a.zarr")
    assert store.labels.tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1] + [0] * 8
    assert store.attrs["category"] == "Abuse"


def test_ucf_nested_class_folders_and_no_frame_counts(ucf_root: Path, tmp_path: Path):
    """Class folders inside the download's part folders; only the 6-column annotation."""
    for listed in UCF_MINI:
        dst = tmp_path / "Anomaly-Videos-Part-1" / listed
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(ucf_root / listed, dst)  # a hard link: the source path stays under this root
    for name in ("Anomaly_Train.txt", "Anomaly_Test.txt"):
        os.link(ucf_root / "UCF_Crimes-Train-Test-Split" / "Anomaly_Detection_splits" / name, tmp_path / name)
    (tmp_path / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt").symlink_to(
        ucf_root / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt")
    m = ucf.discover_ucf_crime("ucf", tmp_path)
    test = by_name(m, "test")
    assert "Anomaly-Videos-Part-1" in test["Abuse028_x264"].source
    assert test["Abuse028_x264"].n_frames is None and test["Arrest001_x264"].label_intervals == [[4, 21]]


def test_ucf_listed_video_missing(ucf_root: Path, tmp_path: Path):
    (tmp_path / "train.txt").write_text("Abuse/Abuse001_x264.mp4\nAbuse/Abuse999_x264.mp4\n")
    with pytest.raises(DataError, match=r"train.txt lists Abuse/Abuse999_x264.mp4 but no such video") as e:
        ucf.discover_ucf_crime("ucf", ucf_root, train_list=str(tmp_path / "train.txt"))
    assert "restore the missing video" in str(e.value)


@pytest.mark.parametrize(
    ("test_lines", "match"),
    [("Abuse/Abuse028_x264.mp4\nAbuse/Abuse001_x264.mp4\n", "has no line for Abuse001_x264.mp4"),
     ("Abuse/Abuse028_x264.mp4\n", "annotates 2 videos that .* does not list"),
     ("Arrest/Abuse028_x264.mp4\nArrest/Arrest001_x264.mp4\nTesting_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4\n",
      "as Arrest but .* says Abuse")],
)  # fmt: skip
def test_ucf_list_and_annotation_mismatch(ucf_root: Path, tmp_path: Path, test_lines: str, match: str):
    (tmp_path / "test.txt").write_text(test_lines)
    with pytest.raises(DataError, match=match):
        ucf.discover_ucf_crime("ucf", ucf_root, test_list=str(tmp_path / "test.txt"))


def test_ucf_annotation_errors(ucf_root: Path, tmp_path: Path):
    with pytest.raises(DataError, match=r"Arrest001_x264.mp4 is annotated anomalous up to frame 20 .* has 20 frames"):
        ucf.discover_ucf_crime("ucf", ucf_root, clip_overrun=0)
    bad = tmp_path / "ann.txt"
    bad.write_text("Abuse028_x264.mp4  Abuse  3  6  10\n")
    with pytest.raises(DataError, match=r"ann.txt:1: expected '<video> <class>"):
        ucf.parse_temporal_annotation(bad)
    bad.write_text("Abuse028_x264.mp4  Abuse  -1  -1  -1  -1\n")
    with pytest.raises(DataError, match="has no anomalous interval"):
        ucf.parse_temporal_annotation(bad)
    other = tmp_path / "new.txt"
    shifted = [(*UCF_MINI_ANNOTATION[0][:2], 4, *UCF_MINI_ANNOTATION[0][3:])] + UCF_MINI_ANNOTATION[1:]
    other.write_text("".join("\t".join(map(str, r)) + "\n" for r in shifted))
    with pytest.raises(DataError, match="disagree about Abuse028_x264.mp4"):
        ucf.discover_ucf_crime("ucf", ucf_root, frame_counts=str(other))


def test_ucf_wrong_root(tmp_path: Path):
    (tmp_path / "Videos").mkdir()
    with pytest.raises(DataError, match="UCF-Crime layout expects class folders .* found Videos"):
        ucf.discover_ucf_crime("ucf", tmp_path)


def test_ucf_supervision_regimes(ucf_root: Path):
    m = ucf.discover_ucf_crime("ucf", ucf_root)
    unsup = apply_supervision(m, "unsupervised")
    assert sorted(v.name for v in unsup.split("train")) == ["Normal_Videos001_x264", "Normal_Videos002_x264"]
    weak = apply_supervision(m, "weakly")
    assert len(weak.split("train")) == 3
    assert all(v.video_label in (0, 1) and v.label_intervals is None for v in weak.split("train"))
    assert weak.split("test") == m.split("test")  # test videos keep their frame labels
    with pytest.raises(DataError, match="anomalous training video .*Abuse001_x264.mp4 has no frame labels"):
        apply_supervision(m, "fully")


# --- LAD: a miniature copy in the assumed layout -----------------------------------------------

LAD_MINI = {  # (category, name) -> (frames, anomalous frames [start, end) or None for a name-marked normal without GT)
    ("Crash", "v_Crash_1_1"): (12, (3, 8)),
    ("Crash", "v_Crash_2_1"): (12, (0, 4)),
    ("Crash", "v_Crash_n_1_1"): (10, (0, 0)),
    ("Crash", "v_Crash_n_2_1"): (10, None),
    ("Fire", "v_Fire_1_1"): (8, (6, 8)),
    ("Fire", "v_Fire_2_1"): (8, (2, 3)),
    ("Fire", "v_Fire_n_1_1"): (8, (0, 0)),
    ("Fire", "v_Fire_n_2_1"): (8, None),
}


@pytest.fixture(scope="module")
def lad_root(tmp_path_factory) -> Path:
    import cv2

    root = tmp_path_factory.mktemp("lad")
    for i, ((cat, name), (n, anomaly)) in enumerate(LAD_MINI.items()):
        if cat == "Crash":  # video files
            tiny_video(root / "videos" / cat / f"{name}.mp4", n, seed=i)
        else:  # frame folders, as the authors' extracted frames (<video>/img/)
            frames = root / "videos" / cat / name / "img"
            frames.mkdir(parents=True)
            for t, frame in enumerate(moving_square(n, h=32, w=32, size=8, seed=i)):
                cv2.imwrite(str(frames / f"img_{t + 1:05d}.png"), frame)
        if anomaly is not None:
            gt = np.zeros((1, n))
            gt[0, anomaly[0] : anomaly[1]] = 1
            folder = root / "GT" / "GT_mat" / "all"
            folder.mkdir(parents=True, exist_ok=True)
            scipy.io.savemat(folder / f"gt_{name[2:]}.mat", {"gt": gt})
    return root


def test_lad_stratified_split(lad_root: Path):
    opts = {"test_abnormal_per_category": 1, "test_normal_per_category": 1, "seed": 3}
    m = discover("lad", "lad", lad_root, options=opts, supervision="fully")
    test = m.split("test")
    assert len(test) == 4 and len(m.split("train")) == 4
    strata = sorted((v.meta["scene_category"], v.video_label) for v in test)
    assert strata == [("Crash", 0), ("Crash", 1), ("Fire", 0), ("Fire", 1)]
    again = discover("lad", "lad", lad_root, options=opts)
    assert [v.name for v in again.split("test")] == [v.name for v in test]
    entries = {v.name: v for v in m.videos}
    assert entries["v_Crash_1_1"].label_intervals == [[3, 8]] and entries["v_Crash_1_1"].n_frames == 12
    assert entries["v_Crash_1_1"].category == "Crash" and entries["v_Crash_1_1"].video_label == 1
    assert entries["v_Crash_n_1_1"].label_intervals == [] and entries["v_Crash_n_1_1"].category == "Normal"
    assert entries["v_Crash_n_2_1"].n_frames is None  # normal by its name, no GT file
    assert entries["v_Fire_1_1"].source.endswith("v_Fire_1_1/img")
    drawn = [lad.discover_lad("lad", lad_root, **{**opts, "seed": s}).split("test") for s in range(8)]
    seeds = {tuple(v.name for v in test) for test in drawn}
    assert len(seeds) > 1


def test_lad_test_list(lad_root: Path, tmp_path: Path):
    (tmp_path / "test.txt").write_text("v_Crash_1_1\nFire/v_Fire_n_1_1.mp4\n")
    m = lad.discover_lad("lad", lad_root, test_list=str(tmp_path / "test.txt"))
    assert [v.name for v in m.split("test")] == ["v_Crash_1_1", "v_Fire_n_1_1"] and len(m.split("train")) == 6
    (tmp_path / "train.txt").write_text("v_Crash_2_1\n")
    m = lad.discover_lad("lad", lad_root, test_list=str(tmp_path / "test.txt"), train_list=str(tmp_path / "train.txt"))
    assert [v.name for v in m.split("train")] == ["v_Crash_2_1"]
    (tmp_path / "test.txt").write_text("v_Crash_9_9\n")
    with pytest.raises(DataError, match="test.txt names 1 videos that were not found: v_Crash_9_9"):
        lad.discover_lad("lad", lad_root, test_list=str(tmp_path / "test.txt"))


def test_lad_errors(lad_root: Path, tmp_path: Path):
    with pytest.raises(DataError, match=r"group \('Crash', 1\) has 2 videos but the split asks for 20") as e:
        lad.discover_lad("lad", lad_root)
    assert "test_abnormal_per_category" in str(e.value)
    with pytest.raises(DataError, match="LAD layout expects category folders .* found nothing"):
        lad.discover_lad("lad", tmp_path)
    (tmp_path / "videos" / "Crash").mkdir(parents=True)
    (tmp_path / "videos" / "Robbery").mkdir()
    os.link(lad_root / "videos" / "Crash" / "v_Crash_1_1.mp4", tmp_path / "videos" / "Robbery" / "v_Robbery_1_1.mp4")
    with pytest.raises(DataError, match="Robbery hold videos but are no LAD category"):
        lad.discover_lad("lad", tmp_path)
    (tmp_path / "videos" / "Robbery" / "v_Robbery_1_1.mp4").rename(tmp_path / "videos" / "Crash" / "v_Crash_7_1.mp4")
    with pytest.raises(DataError, match="v_Crash_7_1.mp4 has no frame labels"):
        lad.discover_lad("lad", tmp_path)
    (tmp_path / "GT").mkdir()
    np.save(tmp_path / "GT" / "gt_Crash_7_1.npy", np.zeros(12))
    np.save(tmp_path / "GT" / "gt_Crash_8_1.npy", np.zeros(12))
    with pytest.raises(DataError, match="1 label files match no video: .*gt_Crash_8_1.npy"):
        lad.discover_lad("lad", tmp_path)
    m = lad.discover_lad("lad", tmp_path, ignore_unmatched_labels=True, test_abnormal_per_category=0,
                         test_normal_per_category=1)  # fmt: skip
    assert [v.name for v in m.split("test")] == ["v_Crash_7_1"]  # all-zero labels: a normal video


# --- splits ------------------------------------------------------------------------------------


def synthetic_entries(per_group: int = 5) -> list[VideoEntry]:
    out = []
    for cat in ("Crash", "Fire", "Panic"):
        for label in (0, 1):
            for i in range(per_group):
                out.append(VideoEntry("train", f"{cat}_{label}_{i}", f"/x/{cat}_{label}_{i}.mp4",
                                      label_intervals=[[0, 2]] if label else [], video_label=label,
                                      category=cat if label else "Normal", meta={"scene_category": cat}))  # fmt: skip
    return out


def test_stratified_split_is_deterministic_and_stratified():
    entries = synthetic_entries()
    counts = splits.per_category_counts(["Crash", "Fire", "Panic"], abnormal=2, normal=3)
    test, rest = splits.stratified_split(entries, counts, seed=7)
    shuffled = list(np.random.default_rng(0).permutation(np.array(entries, dtype=object)))
    test2, _ = splits.stratified_split(shuffled, counts, seed=7)
    assert {v.name for v in test} == {v.name for v in test2}  # same seed, any input order: same split
    assert len(test) == 15 and len(rest) == 15 and not {v.name for v in test} & {v.name for v in rest}
    for (cat, label), k in counts.items():
        assert sum(1 for v in test if (v.meta["scene_category"], v.video_label) == (cat, label)) == k
    fire_only, _ = splits.stratified_split(entries, {("Fire", 1): 2}, seed=7)
    assert {v.name for v in fire_only} == {v.name for v in test if v.name.startswith("Fire_1")}  # per-group streams
    others = {frozenset(v.name for v in splits.stratified_split(entries, counts, seed=s)[0]) for s in range(5)}
    assert len(others) > 1
    with pytest.raises(DataError, match="has 5 videos but the split asks for 6"):
        splits.stratified_split(entries, {("Fire", 0): 6}, seed=0)


def test_make_split_regimes_share_the_test_set():
    entries = synthetic_entries()
    counts = splits.per_category_counts(["Crash", "Fire", "Panic"], abnormal=1, normal=1)
    results = {r: splits.make_split(entries, r, seed=1, counts=counts) for r in ("unsupervised", "weakly", "fully")}
    tests = {r: sorted(v.name for v in vs if v.split == "test") for r, vs in results.items()}
    assert tests["unsupervised"] == tests["weakly"] == tests["fully"] and len(tests["fully"]) == 6
    train = {r: [v for v in vs if v.split == "train"] for r, vs in results.items()}
    assert len(train["unsupervised"]) == 12 and all(v.video_label == 0 for v in train["unsupervised"])
    assert len(train["weakly"]) == 24 and all(v.label_intervals is None for v in train["weakly"])
    assert len(train["fully"]) == 24 and all(v.label_intervals is not None for v in train["fully"])


def test_split_by_names(tmp_path: Path):
    entries = synthetic_entries(1)
    (tmp_path / "test.txt").write_text("# the test set\nCrash_1_0\n\nFire_0_0\n")
    out = splits.split_by_names(entries, splits.read_split_list(tmp_path / "test.txt"))
    assert [v.name for v in out if v.split == "test"] == ["Crash_1_0", "Fire_0_0"] and len(out) == 6
    with pytest.raises(DataError, match="names 1 videos that were not found: Nope"):
        splits.split_by_names(entries, ["Nope"])
    with pytest.raises(DataError, match="both train and test"):
        splits.split_by_names(entries, ["Crash_1_0"], ["Crash_1_0"])
    with pytest.raises(DataError, match="does not exist"):
        splits.read_split_list(tmp_path / "missing.txt")


def test_ucf_training_frame_labels_from_the_video_label(ucf_root: Path, tmp_path: Path):
    """Wan et al. train fully supervised on UCF-Crime by labelling every frame of a training video with its
    video label: options.train_frame_labels: video; an unknown value is a clear error."""
    from vadflow.data.pipeline import decode_manifest_entry
    from vadflow.data.store import FrameStore

    m = ucf.discover_ucf_crime("ucf", ucf_root, train_frame_labels="video")
    full = apply_supervision(m, "fully")
    assert len(full.split("train")) == 3
    m.write(tmp_path / "m.json")
    decode_manifest_entry(tmp_path / "m.json", "train", "Abuse001_x264", tmp_path / "a.zarr", {"height": 16, "width": 16})
    labels = FrameStore(tmp_path / "a.zarr").labels
    assert labels is not None and labels.all()
    decode_manifest_entry(tmp_path / "m.json", "train", "Normal_Videos001_x264", tmp_path / "n.zarr",
                          {"height": 16, "width": 16})
    assert not FrameStore(tmp_path / "n.zarr").labels.any()
    with pytest.raises(DataError, match="train_frame_labels 'frames' is not known"):
        ucf.discover_ucf_crime("ucf", ucf_root, train_frame_labels="frames")
