"""Decode: videos and frame folders into Zarr frame stores, and every kind of bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from conftest import leftovers, moving_square
from vadflow.data.decode import DecodeSpec, decode_video, natural_key
from vadflow.data.encode import write_mp4
from vadflow.data.ffmpeg_tools import ffmpeg_exe, parse_ffmpeg_header
from vadflow.data.store import FrameStore
from vadflow.errors import DataError


def test_decode_video_to_store(small_video: Path, tmp_path: Path):
    labels = np.r_[np.zeros(15), np.ones(15)]
    attrs = decode_video(small_video, tmp_path / "v.zarr", DecodeSpec(24, 32, "gray", chunk_frames=8), labels=labels)
    store = FrameStore(tmp_path / "v.zarr")
    assert store.shape == (30, 24, 32, 1)
    assert store.frames.chunks == (8, 24, 32, 1)
    assert store.labels.tolist() == labels.tolist()
    assert attrs["fps"] == pytest.approx(10.0)
    assert len(attrs["source_sha256"]) == 64
    assert attrs["decode"]["color"] == "gray"
    assert store.attrs["source"] == str(small_video)
    # the bright square is where it was drawn (area-downscaled by 2)
    first = store.read(0, 1)[0, :, :, 0]
    assert first[12, 2] > 150 and first[2, 20] < 100


def test_decode_rgb_native_size(small_video: Path, tmp_path: Path):
    decode_video(small_video, tmp_path / "v.zarr", DecodeSpec(color="rgb"))
    assert FrameStore(tmp_path / "v.zarr").shape == (30, 48, 64, 3)


@pytest.mark.parametrize("color", ["gray", "rgb"])
def test_lossless_encoding_round_trips_exactly_at_odd_sizes(tmp_path: Path, color: str):
    """The moving digits' 225x225 frames with a 3x3 white box come back from the frame store exactly."""
    rng = np.random.default_rng(0)
    frames = np.zeros((6, 225, 225, 3), np.uint8)
    frames[:, 98:126, 84:140] = rng.integers(0, 256, size=(6, 28, 56, 1 if color == "gray" else 3), dtype=np.uint8)
    frames[2:5, 40:43, 60:63] = 255
    write_mp4(frames, tmp_path / "v.mp4", 10, color=color, lossless=True)
    decode_video(tmp_path / "v.mp4", tmp_path / "v.zarr", DecodeSpec(color=color))
    back = FrameStore(tmp_path / "v.zarr").read(0, 6)
    assert back.shape == (6, 225, 225, 1 if color == "gray" else 3)
    assert np.array_equal(back, frames[..., :1] if color == "gray" else frames)


def test_lossy_encoding_needs_even_sizes(tmp_path: Path):
    with pytest.raises(DataError, match="even frame size"):
        write_mp4(np.zeros((2, 225, 225, 3), np.uint8), tmp_path / "v.mp4", 10)


def test_frame_folder_same_path_natural_order(tmp_path: Path):
    frames = moving_square(12)[..., 0]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(frames, start=1):  # 1.png .. 12.png: natural, not lexical, order
        mpimg.imsave(folder / f"{i}.png", np.repeat(f[..., None], 3, -1))
    decode_video(folder, tmp_path / "f.zarr", DecodeSpec(color="gray"))
    store = FrameStore(tmp_path / "f.zarr")
    assert store.n_frames == 12
    got = store.read()[..., 0].astype(int)
    assert np.abs(got - frames.astype(int)).max() <= 1  # PNG is lossless; gray conversion rounds


def test_natural_key():
    assert sorted(["10.jpg", "2.jpg", "1.jpg"], key=natural_key) == ["1.jpg", "2.jpg", "10.jpg"]


def test_masks_resized_to_store(small_video: Path, tmp_path: Path):
    masks = np.zeros((30, 48, 64), bool)
    masks[:, 10:20, 30:40] = True
    decode_video(small_video, tmp_path / "v.zarr", DecodeSpec(24, 32), masks=masks)
    m = FrameStore(tmp_path / "v.zarr").masks
    assert m.shape == (30, 24, 32) and m[:, 5:10, 15:20].all() and m.sum() == 30 * 25


def test_parse_header():
    banner = (
        "Input #0, mov,mp4, from 'x.mp4':\n  Duration: 00:00:03.00, start: 0.000000, bitrate: 10 kb/s\n"
        "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), "
        "360x240 [SAR 1:1 DAR 3:2], 9 kb/s, 10 fps, 10 tbr, 10240 tbn (default)\n"
    )
    info = parse_ffmpeg_header(banner)
    assert (info.width, info.height, info.fps, info.duration_s) == (360, 240, 10.0, 3.0)


# --- bad input: a clear error naming the file, and nothing left behind -------------------------


def _fails(source, tmp_path: Path, match: str, **kw) -> DataError:
    with pytest.raises(DataError, match=match) as err:
        decode_video(source, tmp_path / "out" / "v.zarr", **kw)
    out = tmp_path / "out"
    assert not (out / "v.zarr").exists()
    if out.exists():
        assert leftovers(out) == []
    assert "fix:" in str(err.value)
    return err.value


def test_missing_video(tmp_path: Path):
    err = _fails(tmp_path / "nope.mp4", tmp_path, "does not exist")
    assert "nope.mp4" in str(err)


def test_empty_file(tmp_path: Path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    _fails(tmp_path / "empty.mp4", tmp_path, "empty")


def test_truncated_video(small_video: Path, tmp_path: Path):
    data = small_video.read_bytes()
    bad = tmp_path / "truncated.mp4"
    bad.write_bytes(data[: len(data) // 2])
    err = _fails(bad, tmp_path, "truncated.mp4")
    assert "re-copy" in str(err) or "corrupt" in str(err)


def test_truncated_faststart_video(tmp_path: Path):
    """moov atom first: the header reads fine but the frames stop half-way."""
    src = tmp_path / "fs.mp4"
    from vadflow.data.encode import write_mp4

    write_mp4(moving_square(60), tmp_path / "plain.mp4", fps=10)
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", tmp_path / "plain.mp4", "-c", "copy", "-movflags", "+faststart", src],
        check=True,
    )
    data = src.read_bytes()
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(data[: int(len(data) * 0.6)])
    _fails(bad, tmp_path, "cut.mp4")


def test_zero_frame_video(tmp_path: Path):
    """A container with a video stream but no frames."""
    src = tmp_path / "zero.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x48:d=1", "-frames:v", "0",
         "-c:v", "libx264", src],
        check=True,
    )
    _fails(src, tmp_path, "zero")


def test_not_a_video(tmp_path: Path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is text, not a video\n" * 100)
    _fails(bad, tmp_path, "notes.mp4")


def test_empty_frame_folder(tmp_path: Path):
    (tmp_path / "frames").mkdir()
    _fails(tmp_path / "frames", tmp_path, "holds no frames")


def test_labels_length_mismatch(small_video: Path, tmp_path: Path):
    err = _fails(small_video, tmp_path, "labels have 29 frames but the video has 30", labels=np.zeros(29))
    assert "clip.mp4" in str(err)


def test_masks_length_mismatch(small_video: Path, tmp_path: Path):
    _fails(small_video, tmp_path, "masks have shape", masks=np.zeros((5, 48, 64), bool))


def test_failed_decode_keeps_existing_store(small_video: Path, tmp_path: Path):
    """A failed re-decode loses nothing: the previous store stays as it was."""
    out = tmp_path / "out" / "v.zarr"
    decode_video(small_video, out, DecodeSpec())
    with pytest.raises(DataError):
        decode_video(small_video, out, DecodeSpec(), labels=np.zeros(3))
    assert FrameStore(out).n_frames == 30


def test_frame_range_segment(small_video: Path, tmp_path: Path):
    """Subway/UMN: a segment [start, end) of one long video, cut in the ffmpeg graph."""
    whole = decode_video(small_video, tmp_path / "all.zarr", DecodeSpec(color="gray"))
    decode_video(small_video, tmp_path / "seg.zarr", DecodeSpec(color="gray"), frame_range=(10, 25),
                 labels=np.zeros(15))
    seg = FrameStore(tmp_path / "seg.zarr")
    assert whole["n_frames"] == 30 and seg.n_frames == 15
    assert np.array_equal(seg.read(), FrameStore(tmp_path / "all.zarr").read(10, 25))
    with pytest.raises(DataError, match="were asked for but the video gave 10"):
        decode_video(small_video, tmp_path / "long.zarr", DecodeSpec(), frame_range=(20, 40))


def test_expected_frame_count(small_video: Path, tmp_path: Path):
    _fails(small_video, tmp_path, "annotation says 31 frames but the video has 30", expected_frames=31)


def test_label_intervals_past_the_end(small_video: Path, tmp_path: Path):
    from vadflow.data.layout import intervals_to_labels

    err = _fails(small_video, tmp_path, "frames 20..34", labels=lambda n: intervals_to_labels([[20, 35]], n, "clip.mp4"))
    assert "30 frames" in str(err)


def _chunk_files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted((store / "c").rglob("*")) if p.is_file()}


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_growing_array_matches_one_zarr_write(tmp_path: Path, dtype: str):
    """Chunk-by-chunk appends (uneven sizes, resizes) store the same chunk files, byte for byte,
    as one plain zarr write of all rows; all-zero chunks stay unwritten, as zarr leaves them."""
    import zarr

    from vadflow.data.store import FRAME_COMPRESSOR, GrowingArray

    rng = np.random.default_rng(0)
    rows = rng.integers(1, 255, (100, 6, 5, 3)).astype(dtype)
    rows[16:32] = 0  # an all-zero chunk
    rows[32:48] = 0
    rows[33, 0, 0, 0] = 7  # zero where the quick check looks, non-zero elsewhere
    rows[48:64] = -0.0  # zarr compares floats to the fill value bit for bit: written as float32 only

    ours = zarr.open_group(str(tmp_path / "ours.zarr"), mode="w", zarr_format=3)
    grow = GrowingArray(ours, "a", rows.shape[1:], dtype, 16, compressors=FRAME_COMPRESSOR)
    for lo, hi in [(0, 5), (5, 45), (45, 48), (48, 100)]:
        grow.append(rows[lo:hi])
    grow.close()

    ref = zarr.open_group(str(tmp_path / "ref.zarr"), mode="w", zarr_format=3)
    plain = ref.create_array("a", shape=rows.shape, chunks=(16,) + rows.shape[1:], dtype=dtype,
                             compressors=FRAME_COMPRESSOR)
    plain[:] = rows

    assert np.array_equal(ours["a"][:], rows)
    got, want = _chunk_files(tmp_path / "ours.zarr" / "a"), _chunk_files(tmp_path / "ref.zarr" / "a")
    assert "c/1/0/0/0" not in got and "c/2/0/0/0" in got
    assert ("c/3/0/0/0" in got) == (dtype == "float32")
    assert got == want
