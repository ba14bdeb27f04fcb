"""Walkway: a UCSD-Ped2-like fixed camera looking down a paved walkway with lawns on both sides.

Normal activity is people walking along the walkway in either direction. The anomalies are the ones
that make UCSD Ped2 hard: other means of moving (cyclists, skaters, carts), other speeds (runners),
other places (walking across the lawn) and other behaviour (loitering). The camera is fixed, so the
textured background is built once per seed and shared by all videos; sensor noise and a slight
brightness flicker change every frame. Everything scales with the frame height, so small frames used
in tests show the same scene.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from vadflow.errors import ConfigError

from .common import (
    Box,
    Canvas,
    Capsule,
    Ellipse,
    Ring,
    SyntheticVideo,
    check_min,
    check_seed,
    derived_rng,
    disc,
    gaussian_noise,
    params_from_dict,
    require,
    rgb,
    smooth_noise,
    union_bounds,
)

ANOMALY_KINDS = ("cyclist", "skater", "cart", "runner", "grass_walker", "loiterer")

# Frames at each end of an anomaly where its outline overlaps the frame yet no pixel is covered enough
# to count as visible; anomalies are planned this much longer than min_anomaly_frames.
ENTRY_MARGIN = 2
MAX_ANOMALIES = 8  # per test video: more would leave hardly any normal frames between them
WALK_SPEED = (0.8, 1.6)  # px/frame of a pedestrian at scale 1 in a 120-pixel-high frame
FAR_SCALE, NEAR_SCALE = 0.55, 1.0  # apparent size at the walkway's far and near edges


def event_spacing(n_frames: int) -> tuple[int, int]:
    """Normal frames before the first anomaly and between two anomalies."""
    return max(2, n_frames // 10), max(2, n_frames // 20)


def room_for_anomalies(n_frames: int, n_anomalies: int) -> int:
    """Frames left for the anomalies themselves, keeping the lead, the gaps and a normal last frame."""
    lead, gap = event_spacing(n_frames)
    return n_frames - lead - gap * (n_anomalies - 1) - 1


def fits_anomalies(n_frames: int, n_anomalies: int, min_anomaly_frames: int) -> bool:
    """Whether a video of n_frames holds n_anomalies of at least min_anomaly_frames with their normal frames."""
    return room_for_anomalies(n_frames, n_anomalies) >= n_anomalies * (min_anomaly_frames + ENTRY_MARGIN)


@dataclass
class WalkwayParams:
    """Size of the dataset, crowd density, sensor noise and the anomalies put in each test video."""

    height: int = 120
    width: int = 180
    n_train: int = 6
    n_test: int = 4
    # anomalous training videos, for weakly / fully supervised methods (Wan et al.): one kind of
    # anomaly each (its category), the kinds taken in turn; unsupervised methods never see them
    n_train_anomalous: int = 0
    frames_per_video: int = 160
    # test videos' length (0: frames_per_video): many short test videos give a tighter bootstrap
    # interval over videos than a few long ones of the same frames
    test_frames_per_video: int = 0
    pedestrians: float = 4.0
    noise_std: float = 3.0
    anomaly_kinds: tuple[str, ...] = ANOMALY_KINDS
    anomalies_per_test_video: int = 2
    min_anomaly_frames: int = 24
    # the longest an anomaly is planned (0: as long as the video leaves room for): short test videos keep
    # most of their frames normal, so each video's AUC rests on more than a handful of normal frames
    max_anomaly_frames: int = 0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> WalkwayParams:
        return params_from_dict(cls, d)

    def __post_init__(self) -> None:
        self.anomaly_kinds = tuple(self.anomaly_kinds)
        check_min("height", self.height, 40)  # below this a person is a few pixels
        check_min("width", self.width, 60)
        check_min("n_train", self.n_train, 0)
        check_min("n_test", self.n_test, 0)
        check_min("n_train_anomalous", self.n_train_anomalous, 0)
        check_min("frames_per_video", self.frames_per_video, 1)
        check_min("test_frames_per_video", self.test_frames_per_video, 0)
        check_min("pedestrians", self.pedestrians, 0.0)
        check_min("noise_std", self.noise_std, 0.0)
        check_min("anomalies_per_test_video", self.anomalies_per_test_video, 1)
        require(
            self.anomalies_per_test_video <= MAX_ANOMALIES,
            f"anomalies_per_test_video={self.anomalies_per_test_video} is more than {MAX_ANOMALIES}",
            "make more test videos instead",
        )
        check_min("min_anomaly_frames", self.min_anomaly_frames, 1)
        if self.max_anomaly_frames:
            check_min("max_anomaly_frames", self.max_anomaly_frames, self.min_anomaly_frames)
        require(len(self.anomaly_kinds) > 0, "anomaly_kinds is empty", f"list some of: {', '.join(ANOMALY_KINDS)}")
        unknown = [k for k in self.anomaly_kinds if k not in ANOMALY_KINDS]
        require(not unknown, f"unknown anomaly kind(s) {', '.join(map(repr, unknown))}", f"known kinds: {', '.join(ANOMALY_KINDS)}")
        # every video that holds anomalies must have room for them: test videos, anomalous training videos
        n = self.anomalies_per_test_video
        lengths = []
        if self.n_test > 0:
            lengths.append(("test_frames_per_video" if self.test_frames_per_video else "frames_per_video",
                            self.frames_for("test")))
        if self.n_train_anomalous > 0:
            lengths.append(("frames_per_video", self.frames_per_video))
        for key, length in lengths:
            if not fits_anomalies(length, n, self.min_anomaly_frames):
                enough = next(t for t in itertools.count(length) if fits_anomalies(t, n, self.min_anomaly_frames))
                raise ConfigError(
                    f"{key}={length} is too short for {n} anomalies of at least "
                    f"{self.min_anomaly_frames} frames with normal frames around them",
                    f"use {key} >= {enough}, or fewer or shorter anomalies",
                )

    def frames_for(self, split: str) -> int:
        """Length of a video of this split (anomalous training videos are training videos)."""
        if split == "test" and self.test_frames_per_video:
            return self.test_frames_per_video
        return self.frames_per_video


# --------------------------------------------------------------------------- scene geometry


@dataclass(frozen=True)
class Scene:
    """Where the walkway is and how large things look on each image row (top of the frame is far)."""

    height: int
    width: int
    walk_top: float  # row of the walkway's far edge
    walk_bottom: float  # row of its near edge
    person_height: float  # px, of a person of average height at scale 1
    unit: float  # frame height / 120: speeds and lengths follow the frame size

    @classmethod
    def for_frame(cls, height: int, width: int) -> Scene:
        return cls(height, width, round(0.38 * height), round(0.80 * height), 0.22 * height, height / 120.0)

    def scale_at(self, y: float) -> float:
        """Apparent size at ground row y, linear in y as under a tilted pinhole camera."""
        t = (y - self.walk_top) / (self.walk_bottom - self.walk_top)
        return float(min(max(FAR_SCALE + (NEAR_SCALE - FAR_SCALE) * t, 0.25), 1.4))

    @property
    def lanes(self) -> tuple[float, float]:
        """Rows where normal walkers put their feet: inside the walkway, clear of the kerbs."""
        pad = max(2.0, 0.06 * (self.walk_bottom - self.walk_top))
        return self.walk_top + pad, self.walk_bottom - pad

    @property
    def far_lawn(self) -> tuple[float, float]:
        """Rows of the lawn beyond the walkway where a grass walker's feet go (clear of the frame top)."""
        return 0.45 * self.walk_top, self.walk_top - max(2.0, 0.03 * self.height)

    @property
    def near_lawn(self) -> tuple[float, float]:
        """Rows of the lawn between the walkway and the camera, where a grass walker's feet go."""
        pad = max(2.0, 0.03 * self.height)
        return self.walk_bottom + pad, self.height - pad


# --------------------------------------------------------------------------- appearance

SKIN = [(236, 196, 162), (212, 162, 122), (168, 118, 82), (112, 76, 52), (242, 208, 184)]
HAIR = [(22, 16, 12), (62, 42, 26), (112, 82, 46), (202, 172, 112), (150, 150, 148)]
SHIRTS = [
    (40, 52, 92), (122, 32, 36), (92, 92, 98), (206, 204, 198), (32, 32, 34), (86, 96, 52),
    (112, 76, 46), (122, 152, 192), (192, 152, 62), (62, 112, 112), (152, 62, 112), (212, 122, 62),
]
TROUSERS = [(36, 46, 76), (26, 26, 30), (82, 82, 88), (152, 136, 102), (62, 52, 42), (46, 62, 98)]
SHOES = [(22, 22, 22), (62, 42, 32), (202, 202, 202), (42, 42, 62)]
ACCENTS = {  # bicycle frames, skateboards and carts
    "cyclist": [(172, 32, 32), (32, 62, 162), (22, 22, 22), (182, 182, 188), (32, 122, 62)],
    "skater": [(122, 82, 42), (32, 32, 32), (172, 42, 42)],
    "cart": [(238, 202, 42), (242, 132, 32), (202, 42, 36), (42, 92, 202), (246, 246, 240)],
}
DARK = rgb(30, 30, 32)
METAL = rgb(150, 152, 156)


@dataclass(frozen=True)
class Look:
    """Colours and build of one person (and of their bicycle, board or cart)."""

    skin: np.ndarray
    hair: np.ndarray
    shirt: np.ndarray
    forearm: np.ndarray  # skin for short sleeves, shirt colour for long ones
    trousers: np.ndarray
    shoes: np.ndarray
    accent: np.ndarray
    height_factor: float


def random_look(rng: np.random.Generator, kind: str) -> Look:
    def pick(palette: list[tuple[int, int, int]]) -> np.ndarray:
        base = np.asarray(palette[int(rng.integers(len(palette)))], dtype=np.float32)
        return np.clip(base + rng.normal(0, 6, 3), 0, 255).astype(np.float32)

    skin, shirt = pick(SKIN), pick(SHIRTS)
    return Look(
        skin=skin,
        hair=pick(HAIR),
        shirt=shirt,
        forearm=skin if rng.random() < 0.4 else shirt * 0.92,
        trousers=pick(TROUSERS),
        shoes=pick(SHOES),
        accent=pick(ACCENTS.get(kind, ACCENTS["cyclist"])),
        height_factor=float(np.clip(rng.normal(1.0, 0.06), 0.85, 1.15)),
    )


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Gait:
    """Limb motion of a way of moving, in radians, and the length of one full cycle in body heights."""

    leg_swing: float
    knee: float
    arm_swing: float
    elbow: float
    lean: float
    cycle: float


WALK = Gait(leg_swing=0.42, knee=0.6, arm_swing=0.38, elbow=0.25, lean=0.03, cycle=0.85)
RUN = Gait(leg_swing=0.78, knee=1.4, arm_swing=0.75, elbow=1.5, lean=0.2, cycle=1.5)

Point = tuple[float, float]


def along(origin: Point, length: float, angle: float, facing: float) -> Point:
    """The end of a limb of this length, at `angle` from straight down, positive towards `facing`."""
    return origin[0] + facing * length * math.sin(angle), origin[1] + length * math.cos(angle)


def bend(root: Point, tip: Point, upper: float, lower: float, towards: Point) -> Point:
    """The middle joint (knee, elbow) of a two-segment limb reaching from root to tip.

    Of the two solutions it takes the one on the side of `towards` (a direction).
    """
    dx, dy = tip[0] - root[0], tip[1] - root[1]
    dist = max(math.hypot(dx, dy), 1e-6)
    ux, uy = dx / dist, dy / dist
    reach = min(max(dist, abs(upper - lower) + 1e-3), upper + lower - 1e-3)
    a = (upper * upper - lower * lower + reach * reach) / (2 * reach)
    off = math.sqrt(max(upper * upper - a * a, 0.0))
    nx, ny = -uy, ux
    if nx * towards[0] + ny * towards[1] < 0:
        nx, ny = -nx, -ny
    return root[0] + a * ux + off * nx, root[1] + a * uy + off * ny


def figure(
    look: Look, h: float, f: float, hip: Point, lean: float, legs: list[tuple[Point, Point]], arms: list[tuple[Point, Point]]
) -> list[Any]:
    """A person seen from the side, facing f (+1 right, -1 left): far limbs first, darker.

    legs and arms are [(joint, end)] for the far then the near side, in image coordinates.
    """
    shoulder = (hip[0] + f * 0.29 * h * math.sin(lean), hip[1] - 0.29 * h * math.cos(lean))
    head = (shoulder[0] + f * 0.12 * h * math.sin(lean + 0.1), shoulder[1] - 0.12 * h * math.cos(lean + 0.1))
    parts: list[Any] = []

    def arm(joint: Point, hand: Point, shade: float) -> None:
        parts.append(Capsule(shoulder, joint, 0.036 * h, look.shirt * shade))
        parts.append(Capsule(joint, hand, 0.031 * h, look.forearm * shade))

    def leg(knee: Point, foot: Point, shade: float) -> None:
        parts.append(Capsule(hip, knee, 0.05 * h, look.trousers * shade))
        parts.append(Capsule(knee, foot, 0.043 * h, look.trousers * shade))
        parts.append(Capsule(foot, (foot[0] + f * 0.06 * h, foot[1]), 0.03 * h, look.shoes * shade))

    arm(*arms[0], 0.78)
    leg(*legs[0], 0.8)
    parts.append(Capsule(hip, (hip[0], hip[1] - 0.04 * h), 0.072 * h, look.trousers))
    parts.append(Capsule((hip[0], hip[1] - 0.06 * h), (shoulder[0], shoulder[1] + 0.03 * h), 0.078 * h, look.shirt))
    leg(*legs[1], 1.0)
    parts.append(disc(head, 0.074 * h, look.skin))
    parts.append(disc((head[0] - f * 0.014 * h, head[1] - 0.016 * h), 0.066 * h, look.hair))
    arm(*arms[1], 1.0)
    return parts


def walker_parts(x: float, y: float, h: float, f: float, phase: float, amp: float, look: Look, gait: Gait) -> list[Any]:
    """A walking or running person with feet at (x, y); amp 0 stands still, 1 is the full gait."""
    thigh, shin = 0.25 * h, 0.245 * h
    legs_angles = []
    for leg_phase in (phase + math.pi, phase):  # far leg, near leg
        theta = gait.leg_swing * amp * math.sin(leg_phase)
        knee_bend = gait.knee * amp * max(0.0, math.cos(leg_phase)) + 0.05  # bent while swinging forward
        legs_angles.append((theta, theta - knee_bend))
    # the hip sits as high as the longer (stance) leg allows: the body bobs as it walks
    reach = max(thigh * math.cos(a) + shin * math.cos(b) for a, b in legs_angles)
    hip = (x, y - reach - 0.02 * h)
    legs = []
    for a, b in legs_angles:
        knee = along(hip, thigh, a, f)
        legs.append((knee, along(knee, shin, b, f)))
    lean = gait.lean * (0.4 + 0.6 * amp)
    shoulder = (hip[0] + f * 0.29 * h * math.sin(lean), hip[1] - 0.29 * h * math.cos(lean))
    arms = []
    for arm_phase in (phase, phase + math.pi):  # each arm swings against the leg on its side
        alpha = -gait.arm_swing * amp * math.sin(arm_phase + math.pi)
        elbow = along(shoulder, 0.16 * h, alpha, f)
        arms.append((elbow, along(elbow, 0.15 * h, alpha + gait.elbow * (0.3 + 0.7 * amp), f)))
    return figure(look, h, f, hip, lean, legs, arms)


def skater_parts(x: float, y: float, h: float, f: float, phase: float, look: Look) -> list[Any]:
    """A person gliding on a board: knees slightly bent, arms out for balance, a slow sway."""
    sway = math.sin(phase)
    wheel_r = max(0.024 * h, 0.6)
    deck_y = y - 2 * wheel_r - 0.012 * h
    parts: list[Any] = [
        disc((x - f * 0.13 * h, y - wheel_r), wheel_r, DARK),
        disc((x + f * 0.13 * h, y - wheel_r), wheel_r, DARK),
        Capsule((x - 0.2 * h, deck_y), (x + 0.2 * h, deck_y), 0.016 * h, look.accent),
    ]
    sole = deck_y - 0.03 * h
    feet = [(x - f * 0.1 * h, sole), (x + f * 0.08 * h, sole)]
    hip = (x + f * (0.01 + 0.015 * sway) * h, sole - 0.45 * h)
    legs = [(bend(hip, foot, 0.25 * h, 0.245 * h, (f, 0.0)), foot) for foot in feet]
    lean = 0.12 + 0.04 * sway
    shoulder = (hip[0] + f * 0.29 * h * math.sin(lean), hip[1] - 0.29 * h * math.cos(lean))
    arms = []
    for alpha in (-0.9 - 0.1 * sway, 0.75 + 0.1 * sway):  # far arm back, near arm forward
        elbow = along(shoulder, 0.16 * h, alpha, f)
        arms.append((elbow, along(elbow, 0.15 * h, alpha + 0.25, f)))
    return parts + figure(look, h, f, hip, lean, legs, arms)


def cyclist_parts(x: float, y: float, h: float, f: float, phase: float, look: Look) -> list[Any]:
    """A person pedalling a bicycle; phase is the crank angle."""
    wheel = 0.2 * h
    rear, front = (x - f * 0.33 * h, y - wheel), (x + f * 0.33 * h, y - wheel)
    crank = (x - f * 0.02 * h, y - 0.95 * wheel)
    seat = (x - f * 0.12 * h, y - 0.57 * h)
    head_tube = (x + f * 0.22 * h, y - 0.53 * h)
    bar = (x + f * 0.2 * h, y - 0.63 * h)
    tube, tire = 0.02 * h, max(0.022 * h, 0.5)
    frame = look.accent
    parts: list[Any] = []
    pedals = [
        (crank[0] + f * 0.075 * h * math.cos(phase + s), crank[1] + 0.075 * h * math.sin(phase + s)) for s in (math.pi, 0.0)
    ]
    hip = (seat[0], seat[1] - 0.035 * h)
    lean = 0.5
    far_knee = bend(hip, pedals[0], 0.25 * h, 0.245 * h, (f, -0.3))
    parts += [
        Capsule(hip, far_knee, 0.05 * h, look.trousers * 0.8),
        Capsule(far_knee, pedals[0], 0.043 * h, look.trousers * 0.8),
        Capsule(pedals[0], (pedals[0][0] + f * 0.06 * h, pedals[0][1]), 0.03 * h, look.shoes * 0.8),
    ]
    parts += [Ring(rear, wheel - tire, tire, DARK), Ring(front, wheel - tire, tire, DARK)]
    parts += [disc(rear, 0.03 * h, METAL), disc(front, 0.03 * h, METAL)]
    for a, b in ((rear, crank), (rear, seat), (seat, crank), (crank, head_tube), (seat, head_tube), (head_tube, front)):
        parts.append(Capsule(a, b, tube, frame))
    parts.append(Capsule(head_tube, bar, tube, DARK))
    parts.append(Capsule((seat[0] - f * 0.04 * h, seat[1]), (seat[0] + f * 0.03 * h, seat[1]), 0.02 * h, DARK))
    near_knee = bend(hip, pedals[1], 0.25 * h, 0.245 * h, (f, -0.3))
    shoulder = (hip[0] + f * 0.29 * h * math.sin(lean), hip[1] - 0.29 * h * math.cos(lean))
    arms = [(bend(shoulder, bar, 0.16 * h, 0.15 * h, (0.0, 1.0)), bar) for _ in range(2)]
    person = figure(look, h, f, hip, lean, [(far_knee, pedals[0]), (near_knee, pedals[1])], arms)
    # the far leg was drawn behind the bicycle above; drop figure()'s copy of it (its parts 2..4)
    return parts + person[:2] + person[5:]


def cart_parts(x: float, y: float, h: float, f: float, look: Look) -> list[Any]:
    """A small utility vehicle with a canopy and a driver, about 1.3 person heights long."""
    wheel = 0.12 * h
    half = 0.62 * h
    body_y = y - wheel - 0.16 * h
    roof_y = y - 0.98 * h
    parts: list[Any] = [
        Capsule((x - f * 0.42 * h, body_y), (x - f * 0.42 * h, roof_y), 0.022 * h, DARK),  # rear canopy post
        Capsule((x + f * 0.16 * h, body_y), (x + f * 0.3 * h, roof_y), 0.022 * h, DARK),  # windscreen post
    ]
    driver = (x - f * 0.1 * h, body_y - 0.12 * h)
    parts += [
        Capsule(driver, (driver[0] + f * 0.03 * h, driver[1] - 0.24 * h), 0.08 * h, look.shirt),
        disc((driver[0] + f * 0.05 * h, driver[1] - 0.36 * h), 0.072 * h, look.skin),
        disc((driver[0] + f * 0.035 * h, driver[1] - 0.38 * h), 0.064 * h, look.hair),
        Capsule((driver[0] + f * 0.04 * h, driver[1] - 0.2 * h), (x + f * 0.27 * h, body_y - 0.2 * h), 0.03 * h, look.forearm),
        Box((x - f * 0.06 * h, roof_y), 0.44 * h, 0.035 * h, 0.02 * h, look.accent * 0.9),
        Box((x, body_y), half, 0.16 * h, 0.06 * h, look.accent),
        Box((x + f * 0.2 * h, body_y - 0.04 * h), 0.3 * h, 0.05 * h, 0.02 * h, look.accent * 0.8),  # seat back rail
        Box((x, y - wheel - 0.015 * h), half + 0.02 * h, 0.03 * h, 0.015 * h, DARK),  # bumper line
        disc((x + f * (half - 0.04 * h), body_y - 0.05 * h), 0.035 * h, rgb(250, 240, 190)),  # headlight
    ]
    for wx in (x - 0.4 * h, x + 0.4 * h):
        parts.append(disc((wx, y - wheel), wheel, DARK))
        parts.append(disc((wx, y - wheel), 0.45 * wheel, METAL))
    return parts


def pose(kind: str, x: float, y: float, h: float, f: float, phase: float, amp: float, look: Look) -> list[Any]:
    """The drawing parts of any agent kind at one instant."""
    if kind == "runner":
        return walker_parts(x, y, h, f, phase, amp, look, RUN)
    if kind == "skater":
        return skater_parts(x, y, h, f, phase, look)
    if kind == "cyclist":
        return cyclist_parts(x, y, h, f, phase, look)
    if kind == "cart":
        return cart_parts(x, y, h, f, look)
    return walker_parts(x, y, h, f, phase, amp, look, WALK)  # pedestrian, grass_walker, loiterer


@lru_cache(maxsize=None)
def half_width(kind: str) -> float:
    """How far an agent reaches left or right of its ground point, in person heights (from probe poses)."""
    look = random_look(np.random.default_rng(0), kind)
    reach = 0.0
    for phase in np.linspace(0, 2 * math.pi, 12, endpoint=False):
        x0, _, x1, _ = union_bounds(pose(kind, 0.0, 0.0, 100.0, 1.0, float(phase), 1.0, look))
        reach = max(reach, -x0 - 1.0, x1 - 1.0)  # bounds() pads one pixel
    return reach / 100.0


def shadow(kind: str, x: float, y: float, h: float) -> Ellipse:
    return Ellipse((x, y), 0.9 * half_width(kind) * h, max(0.05 * h, 0.8))


# --------------------------------------------------------------------------- motion


@dataclass
class Track:
    """An agent's ground point, heading and gait in each frame from `start` on (start may be < 0)."""

    kind: str
    anomalous: bool
    start: int
    x: np.ndarray
    y: np.ndarray
    facing: np.ndarray  # +1 moving right, -1 left
    phase: np.ndarray  # gait, crank or sway angle
    amp: np.ndarray  # gait amplitude, 0 when standing
    look: Look

    @property
    def end(self) -> int:
        return self.start + len(self.x)

    def drawing(self, scene: Scene, k: int) -> tuple[list[Any], Ellipse]:
        """The parts and the contact shadow of the agent in its k-th frame."""
        x, y = float(self.x[k]), float(self.y[k])
        h = person_height(scene, y, self.look)
        parts = pose(self.kind, x, y, h, float(self.facing[k]), float(self.phase[k]), float(self.amp[k]), self.look)
        return parts, shadow(self.kind, x, y, h)

    def frames(self, first: int, last: int) -> Track:
        """The part of the track from its frame `first` up to, not including, `last`."""
        cut = slice(first, last)
        return Track(
            self.kind, self.anomalous, self.start + first,
            self.x[cut], self.y[cut], self.facing[cut], self.phase[cut], self.amp[cut], self.look,
        )

    def trimmed_to_view(self, scene: Scene) -> Track:
        """Without the frames before the agent shows up and after it has gone (judged on its outline)."""
        shows = []
        for k in range(len(self.x)):
            x0, y0, x1, y1 = union_bounds(self.drawing(scene, k)[0])  # bounds pad each part by a pixel
            shows.append(x1 >= 1.5 and y1 >= 1.5 and x0 <= scene.width - 2.5 and y0 <= scene.height - 2.5)
        inside = np.flatnonzero(shows)
        return self.frames(int(inside[0]), int(inside[-1]) + 1) if len(inside) else self.frames(0, 0)


def gait_phase(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, cycle_px: float) -> np.ndarray:
    """Gait angle advancing with the distance covered, so feet do not slide."""
    step = np.hypot(np.diff(x, prepend=x[0]), np.diff(y, prepend=y[0]))
    return rng.uniform(0, 2 * math.pi) + 2 * math.pi * np.cumsum(step) / cycle_px


def person_height(scene: Scene, y: float, look: Look) -> float:
    return scene.person_height * scene.scale_at(y) * look.height_factor


def pedestrian_tracks(scene: Scene, rng: np.random.Generator, n_frames: int, mean_in_view: float) -> list[Track]:
    """Normal walkers arriving at either side as a Poisson process, about `mean_in_view` in view.

    Arrivals start well before frame 0, so the first frame already shows people mid-walk.
    """
    lo, hi = scene.lanes
    s_lo, s_hi = scene.scale_at(lo), scene.scale_at(hi)
    inv_speed = math.log(WALK_SPEED[1] / WALK_SPEED[0]) / (WALK_SPEED[1] - WALK_SPEED[0]) / scene.unit
    inv_scale = math.log(s_hi / s_lo) / (s_hi - s_lo)
    margin = 2 * half_width("pedestrian") * scene.person_height
    mean_crossing = (scene.width * inv_scale + margin) * inv_speed  # Little's law: count = rate * time in view
    longest = (scene.width / s_lo + margin) / (WALK_SPEED[0] * scene.unit)
    tracks: list[Track] = []
    if mean_in_view <= 0:
        return tracks
    rate = mean_in_view / mean_crossing
    t = -longest
    while True:
        t += rng.exponential(1.0 / rate)
        if t >= n_frames:
            return tracks
        look = random_look(rng, "pedestrian")
        lane = rng.uniform(lo, hi)
        f = float(rng.choice((-1.0, 1.0)))
        s = scene.scale_at(lane)
        h = person_height(scene, lane, look)
        e = half_width("pedestrian") * h
        speed = rng.uniform(*WALK_SPEED) * scene.unit * s
        first, last = max(math.ceil(t), 0), min(math.floor(t + (scene.width + 2 * e) / speed), n_frames - 1)
        drift = (rng.uniform(0.2, 0.6) * scene.unit * s, rng.uniform(80, 200), rng.uniform(0, 2 * math.pi))
        if last < first:  # gone before frame 0
            continue
        frames = np.arange(first, last + 1, dtype=np.float64)
        entry = -e if f > 0 else scene.width + e
        x = entry + f * speed * (frames - t)
        y = lane + drift[0] * np.sin(2 * math.pi * frames / drift[1] + drift[2])
        phase = rng.uniform(0, 2 * math.pi) + 2 * math.pi * speed * (frames - t) / (WALK.cycle * h)
        n = len(frames)
        tracks.append(Track("pedestrian", False, first, x, y, np.full(n, f), phase, np.ones(n), look))


def crossing_track(kind: str, speed_factor: tuple[float, float]) -> Callable[..., Track]:
    """Builder of an anomaly that crosses the walkway from side to side at its own speed."""

    def build(scene: Scene, rng: np.random.Generator, min_len: int, budget: int) -> Track:
        look = random_look(rng, kind)
        lane = rng.uniform(*scene.lanes)
        f = float(rng.choice((-1.0, 1.0)))
        h = person_height(scene, lane, look)
        e = half_width(kind) * h
        path = scene.width + 2 * e
        speed = rng.uniform(*speed_factor) * rng.uniform(1.0, 1.4) * scene.unit * scene.scale_at(lane)
        n = int(np.clip(round(path / speed), min_len, budget))
        speed = path / n  # faster or slower than natural only when the video is too short for it
        k = np.arange(n, dtype=np.float64)
        x = (-e if f > 0 else scene.width + e) + f * speed * (k + 0.5)
        y = np.full(n, lane)
        if kind == "cyclist":
            phase = rng.uniform(0, 2 * math.pi) + speed * (k + 0.5) / (0.2 * h * 2.2)  # crank: 2.2 wheel turns per stroke
        elif kind == "skater":
            phase = rng.uniform(0, 2 * math.pi) + 2 * math.pi * k / rng.uniform(30, 60)  # slow balance sway
        else:
            phase = gait_phase(rng, x, y, (RUN.cycle if kind == "runner" else WALK.cycle) * h)
        return Track(kind, True, 0, x, y, np.full(n, f), phase, np.ones(n), look)

    return build


def grass_walker_track(scene: Scene, rng: np.random.Generator, min_len: int, budget: int) -> Track:
    """A person cutting across a lawn: along it if time allows, else diagonally out of the frame.

    On the far lawn the diagonal leads away from the camera (out at the top edge), on the near lawn
    towards it (out at the bottom edge); half of the time the same path is walked the other way round.
    """
    look = random_look(rng, "grass_walker")
    f = float(rng.choice((-1.0, 1.0)))
    speed_factor = rng.uniform(*WALK_SPEED) * scene.unit
    y_far = rng.uniform(*scene.far_lawn)
    far_walk = 1.15 * (y_far + 2) / (speed_factor * scene.scale_at(y_far))  # frames to walk out at the top
    far = far_walk <= 0.9 * budget and rng.random() < 0.6
    y_in = y_far if far else rng.uniform(*scene.near_lawn)
    h_in = person_height(scene, y_in, look)
    e = half_width("grass_walker") * h_in
    speed = speed_factor * scene.scale_at(y_in)
    entry = -e if f > 0 else scene.width + e
    across = scene.width + 2 * e
    if across / speed <= budget:
        n = max(min_len, round(across / speed))
        x = entry + f * across * (np.arange(n) + 0.5) / n
        y = np.linspace(y_in, rng.uniform(*(scene.far_lawn if far else scene.near_lawn)), n)
    else:
        if far:
            y_out = -2.0  # feet above the top edge: all of the person is
        else:
            y_out = float(scene.height)  # feet row where even the head has left the frame
            for _ in range(4):
                y_out = scene.height + 0.98 * person_height(scene, y_out, look)
        drop = y_out - y_in
        walk = math.hypot(rng.uniform(0.15, 0.5) * scene.width, drop)
        n = int(np.clip(round(walk / speed), min_len, budget))
        walk = max(speed * n, 1.15 * abs(drop))  # hurry when the video leaves too little time
        run = math.sqrt(walk * walk - drop * drop)
        k = (np.arange(n) + 0.5) / n
        x = entry + f * (e + run) * k
        y = y_in + drop * k
        if rng.random() < 0.5:  # the same path walked the other way: in from the top or bottom, out at the side
            x, y, f = x[::-1].copy(), y[::-1].copy(), -f
    phase = gait_phase(rng, x, y, WALK.cycle * h_in)
    return Track("grass_walker", True, 0, x, y, np.full(n, f), phase, np.ones(n), look)


def loiterer_track(scene: Scene, rng: np.random.Generator, min_len: int, budget: int) -> Track:
    """A person who walks in a little way, stands about and paces back and forth, then walks back out."""
    look = random_look(rng, "loiterer")
    lane = rng.uniform(*scene.lanes)
    s = scene.scale_at(lane)
    h = person_height(scene, lane, look)
    e = half_width("loiterer") * h
    f = float(rng.choice((-1.0, 1.0)))
    n = int(np.clip(round(rng.uniform(60, 120)), min_len, budget))
    roam = min(0.08 * scene.width, 6 * scene.unit * s + 1)  # how far the pacing wanders from the spot
    depth = rng.uniform(0.1, 0.3) * scene.width  # how far into the frame the spot is
    # walking in and out should leave half of the time for loitering: walk briskly, stop nearer the edge
    speed = rng.uniform(*WALK_SPEED) * scene.unit * s
    speed = min(max(speed, 4 * (depth + roam + e) / n), WALK_SPEED[1] * scene.unit * s)
    depth = max(min(depth, 0.25 * n * speed - e - roam), e)
    speed = max(speed, (2 * (e + depth) + roam) / max(n - 3, 1))  # in a short video, hurry rather than overrun
    edge = -e if f > 0 else scene.width + e
    spot = edge + f * (e + depth)
    t_in = math.ceil((e + depth) / speed)
    t_out_longest = math.ceil((e + depth + roam) / speed)
    dwell = max(n - t_in - t_out_longest, 1)

    xs = list(edge + f * np.minimum(speed * (np.arange(t_in) + 0.5), e + depth))
    face, moving = [f] * t_in, [1.0] * t_in
    here, heading = spot, f
    lo_x, hi_x = max(spot - roam, e), min(spot + roam, scene.width - e)
    while len(xs) < t_in + dwell:
        if rng.random() < 0.5:  # stand, maybe turning to look the other way
            if rng.random() < 0.4:
                heading = -heading
            stay = int(rng.integers(4, 15))
            xs += [here] * stay
            face += [heading] * stay
            moving += [0.0] * stay
        else:  # a few slow steps one way or the other
            target = float(np.clip(here + rng.choice((-1, 1)) * rng.uniform(3, 10) * scene.unit * s, lo_x, hi_x))
            if abs(target - here) < 0.5:
                continue
            heading = math.copysign(1.0, target - here)
            steps = max(2, math.ceil(abs(target - here) / (speed * rng.uniform(0.4, 0.8))))
            xs += list(np.linspace(here, target, steps + 1)[1:])
            face += [heading] * steps
            moving += [1.0] * steps
            here = target
    del xs[t_in + dwell :], face[t_in + dwell :], moving[t_in + dwell :]
    here = xs[-1]
    t_out = math.ceil(abs(here - edge) / speed)
    stay = n - len(xs) - t_out  # a last pause so the track lasts exactly n frames
    xs += [here] * stay + list(here - f * np.minimum(speed * (np.arange(t_out) + 0.5), abs(here - edge)))
    face += [face[-1]] * stay + [-f] * t_out
    moving += [0.0] * stay + [1.0] * t_out

    x = np.asarray(xs)
    y = np.clip(lane + np.cumsum(rng.normal(0, 0.05 * scene.unit, len(x))), *scene.lanes)  # a little shuffling
    amp = np.convolve(np.asarray(moving), np.ones(3) / 3, mode="same")  # ease in and out of standing
    phase = gait_phase(rng, x, y, WALK.cycle * h)
    return Track("loiterer", True, 0, x, y, np.asarray(face), phase, amp, look)


ANOMALY_BUILDERS: dict[str, Callable[..., Track]] = {
    "cyclist": crossing_track("cyclist", (3.0, 4.0)),
    "skater": crossing_track("skater", (2.5, 3.5)),
    "cart": crossing_track("cart", (1.5, 2.5)),
    "runner": crossing_track("runner", (2.7, 3.3)),
    "grass_walker": grass_walker_track,
    "loiterer": loiterer_track,
}


def visible_anomaly(kind: str, scene: Scene, rng: np.random.Generator, min_len: int, budget: int) -> Track:
    """An anomaly's track cut to the frames where it shows, lasting min_len..budget frames.

    Builders plan whole paths, from fully outside the frame to fully outside, so how long the agent
    actually shows depends on its pose at the edges; redraw asking for more or fewer frames until the
    visible part fits.
    """
    low, high = min_len, budget
    for _ in range(8):
        track = ANOMALY_BUILDERS[kind](scene, rng, low, high).trimmed_to_view(scene)
        shown = len(track.x)
        if shown < min_len:
            low += min_len - shown
            high = max(high, low)
        elif shown > budget:
            high -= shown - budget
            low = min(low, high)
        else:
            return track
    return track.frames(0, min(shown, budget))  # never seen in practice; keeps the schedule valid


def test_video_kinds(params: WalkwayParams, index: int) -> list[str]:
    """The kinds of test video ``index``'s anomalies: the kinds taken in turn over the whole test set, so
    every kind appears as often as any other (within one) and each carries a per-category figure."""
    n, kinds = params.anomalies_per_test_video, params.anomaly_kinds
    return [kinds[(index * n + j) % len(kinds)] for j in range(n)]


def anomaly_tracks(scene: Scene, rng: np.random.Generator, params: WalkwayParams, n_frames: int,
                   kinds: list[str]) -> list[Track]:
    """The anomalies of one video, one after another with normal frames before and between them, of
    these kinds in this order."""
    n = len(kinds)
    lead, gap = event_spacing(n_frames)
    min_len = params.min_anomaly_frames + ENTRY_MARGIN
    room = room_for_anomalies(n_frames, n)
    # each anomaly first takes as long as it likes; then the longest ones are redone shorter until all
    # fit, loiterers last since standing about for long is what makes them anomalous
    longest = room - (n - 1) * min_len
    if params.max_anomaly_frames:
        longest = min(longest, params.max_anomaly_frames + ENTRY_MARGIN)
    tracks = [visible_anomaly(kind, scene, rng, min_len, longest) for kind in kinds]
    while (excess := sum(len(t.x) for t in tracks) - room) > 0:
        shorter = [i for i in range(n) if len(tracks[i].x) > min_len]
        i = max(shorter, key=lambda i: (tracks[i].kind != "loiterer", len(tracks[i].x)))
        tracks[i] = visible_anomaly(kinds[i], scene, rng, min_len, max(min_len, len(tracks[i].x) - excess))
    slack = n_frames - lead - gap * (n - 1) - sum(len(t.x) for t in tracks)
    pads = rng.multinomial(slack, np.full(n + 1, 1.0 / (n + 1)))
    start = lead + int(pads[0])
    for track, pad in zip(tracks, pads[1:]):
        track.start = start
        start = track.end + gap + int(pad)
    return tracks


# --------------------------------------------------------------------------- rendering


def render_background(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """The static scene as float RGB: lawns, a paved walkway with kerbs, lamp posts and a few bushes."""
    H, W, u = scene.height, scene.width, scene.unit
    rows = np.arange(H, dtype=np.float32)[:, None]
    cols = np.arange(W, dtype=np.float32)[None, :]
    fine = rng.standard_normal((H, W)).astype(np.float32)

    # lawn: blotches, vertical blade streaks and grain; hazier and paler far away
    patches = smooth_noise(rng, (H, W), 7 * u)
    blades = smooth_noise(rng, (H, W), (1.3 * u, 0.35))
    tone = 1 + 0.07 * patches + 0.05 * smooth_noise(rng, (H, W), 1.5 * u) + 0.1 * blades + 0.04 * fine
    grass = rgb(76, 110, 48) * tone[..., None]
    grass += np.clip(patches - 0.6, 0, None)[..., None] * rgb(14, 8, -6)  # dry patches
    haze = np.clip(1 - rows / scene.walk_top, 0, 1)[..., None] * 0.3
    img = grass * (1 - haze) + rgb(132, 146, 124) * haze

    # paving slabs in perspective: depth z grows as 1/scale per row, so far slabs look shorter
    top, bottom = int(scene.walk_top), int(scene.walk_bottom)
    band = rows[top:bottom]
    slope = (NEAR_SCALE - FAR_SCALE) / (scene.walk_bottom - scene.walk_top)
    scale = FAR_SCALE + slope * (band - scene.walk_top)
    slab_w, slab_d = 0.5 * scene.person_height, 0.5 * scene.person_height * 0.5  # foreshortened depth
    z = np.log(scale / FAR_SCALE) / slope / slab_d
    row_id = np.floor(z)
    across = (cols - W / 2) / scale / slab_w + 0.5 * (row_id % 2)  # running bond
    col_id = np.floor(across)
    to_joint = np.minimum(
        np.minimum(z - row_id, row_id + 1 - z) * slab_d * scale,
        np.minimum(across - col_id, col_id + 1 - across) * slab_w * scale,
    )
    joint = np.clip(1 - to_joint / 0.8, 0, 1)
    slab_tone = rng.normal(0, 0.035, (64, 64)).astype(np.float32)
    shade = slab_tone[row_id.astype(int) % 64, col_id.astype(int) % 64]
    stains = smooth_noise(rng, (bottom - top, W), 4 * u)
    pave = 1 + shade + 0.035 * stains + 0.045 * fine[top:bottom] - 0.3 * joint
    img[top:bottom] = rgb(158, 154, 145) * pave[..., None]

    # kerbs: a light stone edge on both sides, the near one casting a shadow onto the lawn
    far_kerb, near_kerb = max(1, round(1.2 * u)), max(1, round(2.2 * u))
    kerb = rgb(190, 187, 178) * (1 + 0.03 * fine[:, :, None])
    img[top : top + far_kerb] = kerb[top : top + far_kerb]
    img[bottom - near_kerb : bottom] = kerb[bottom - near_kerb : bottom]
    img[bottom - 1] *= 0.82
    img[bottom : bottom + max(1, round(u))] *= 0.7

    canvas = Canvas(img)
    for _ in range(int(rng.integers(2, 5))):  # bushes on the far lawn, lit from the upper right
        bx = rng.uniform(0.05, 0.95) * W
        by = rng.uniform(0.25, 0.85) * scene.walk_top
        size = scene.person_height * scene.scale_at(by) * rng.uniform(0.6, 1.0)
        canvas.darken(Ellipse((bx, by), 1.2 * size, 0.25 * size), 0.4, 1.5)
        leaves = []
        for lift, light, count in ((0.35, 0.85, 7), (0.55, 1.25, 5)):
            for _ in range(count):
                c = (bx + rng.uniform(-0.6, 0.7) * size, by - rng.uniform(lift - 0.2, lift + 0.2) * size)
                radius = rng.uniform(0.25, 0.4) * size
                leaves.append(Ellipse(c, radius, 0.8 * radius, rgb(44, 78, 34) * light * rng.uniform(0.9, 1.1)))
        canvas.paint(leaves, -1)
    post_h = 1.7 * scene.person_height * FAR_SCALE
    for px in (rng.uniform(0.12, 0.38) * W, rng.uniform(0.62, 0.88) * W):  # lamp posts on the far kerb
        base = scene.walk_top + far_kerb * 0.5
        canvas.paint(
            [
                Capsule((px, base), (px, base - post_h), 0.045 * post_h, rgb(58, 60, 64)),
                Capsule((px, base - post_h), (px + 0.18 * post_h, base - post_h), 0.04 * post_h, rgb(58, 60, 64)),
                Ellipse((px + 0.2 * post_h, base - post_h + 0.03 * post_h), 0.07 * post_h, 0.035 * post_h, rgb(222, 222, 206)),
            ],
            -1,
        )
    img = canvas.rgb * (1 + 0.025 * rng.standard_normal((H, W, 1)).astype(np.float32))
    img *= 1 + 0.04 * (cols / W - 0.5)[..., None]  # the sun is to the right
    return np.clip(img, 0, 255).astype(np.float32)


def vignette(scene: Scene) -> np.ndarray:
    """Mild lens fall-off towards the corners, applied to whole frames so it darkens people too."""
    yy = (np.arange(scene.height, dtype=np.float32)[:, None] / (scene.height - 1) - 0.5) * 2
    xx = (np.arange(scene.width, dtype=np.float32)[None, :] / (scene.width - 1) - 0.5) * 2
    return (1 - 0.13 * (xx * xx + yy * yy))[..., None]


def flicker(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """Global gain per frame: a slow random wobble of about 1% around a per-video exposure."""
    gain = np.empty(n_frames, dtype=np.float32)
    level, wobble = 1 + rng.uniform(-0.03, 0.03), 0.0
    for t in range(n_frames):
        wobble = 0.85 * wobble + rng.normal(0, 0.006)
        gain[t] = level + wobble
    return gain


def render_video(
    params: WalkwayParams, scene: Scene, background: np.ndarray, lens: np.ndarray, seed: int, split: str, index: int,
    anomaly_kind: str | None = None,
) -> SyntheticVideo:
    """One video from its own RNG stream: plan every agent's track, then draw frame by frame. A test
    video has anomalies of the kinds ``test_video_kinds`` gives it; a training video has none, unless
    ``anomaly_kind`` is given (an anomalous training video, from an RNG stream of its own)."""
    anomalous_train = split == "train" and anomaly_kind is not None
    rng = derived_rng(seed, "walkway", "train_anomalous" if anomalous_train else split, index)
    n_frames = params.frames_for(split)
    test = split == "test" or anomalous_train  # labelled: anomalies, masks and events
    tracks = pedestrian_tracks(scene, rng, n_frames, params.pedestrians)
    kinds = [anomaly_kind] * params.anomalies_per_test_video if anomalous_train else test_video_kinds(params, index)
    anomalies = anomaly_tracks(scene, rng, params, n_frames, kinds) if test else []
    tracks += anomalies
    first_anomaly = len(tracks) - len(anomalies)  # anomalies come last: owner ids >= this
    gains = flicker(rng, n_frames)

    frames = np.empty((n_frames, scene.height, scene.width, 3), dtype=np.uint8)
    masks = np.zeros((n_frames, scene.height, scene.width), dtype=bool) if test else None
    seen = np.zeros((n_frames, len(tracks)), dtype=bool)
    for t in range(n_frames):
        canvas = Canvas(background)
        posed = []
        for i, track in enumerate(tracks):
            if not track.start <= t < track.end:
                continue
            k = t - track.start
            parts, contact = track.drawing(scene, k)
            canvas.darken(contact, 0.35, 1.5)
            posed.append((float(track.y[k]), i, parts))
        for _, i, parts in sorted(posed, key=lambda p: (p[0], p[1])):  # far (small y) first
            canvas.paint(parts, i)
        if test:
            masks[t] = canvas.owner >= first_anomaly
            seen[t, np.unique(canvas.owner[masks[t]])] = True
        image = canvas.rgb
        image *= lens
        image *= gains[t]
        image += gaussian_noise(rng, image.shape) * np.float32(params.noise_std)
        image += 0.5  # round to nearest when the cast truncates
        frames[t] = np.clip(image, 0.0, 255.4, out=image)

    name = f"train_anomalous_{index:03d}" if anomalous_train else f"{split}_{index:03d}"
    if not test:
        return SyntheticVideo(name, split, frames, None, None, [])
    events = []
    for i in range(first_anomaly, len(tracks)):
        visible = np.flatnonzero(seen[:, i])
        if len(visible):  # an anomaly hidden all along (never seen so far) would not be an event
            events.append({"kind": tracks[i].kind, "start": int(visible[0]), "end": int(visible[-1]) + 1})
    labels = masks.any(axis=(1, 2)).astype(np.uint8)
    shown: dict[str, int] = {}
    for e in events:  # the category: the kind of anomaly seen for the most frames
        shown[e["kind"]] = shown.get(e["kind"], 0) + e["end"] - e["start"]
    category = max(sorted(shown), key=lambda k: shown[k]) if shown else None
    return SyntheticVideo(name, split, frames, labels, masks, events, category)


def walkway_videos(params: WalkwayParams, seed: int) -> Iterator[SyntheticVideo]:
    """Render the train videos, then the test videos, one at a time."""
    check_seed(seed)
    scene = Scene.for_frame(params.height, params.width)
    background = render_background(scene, derived_rng(seed, "walkway", "background"))
    lens = vignette(scene)
    for index in range(params.n_train):
        yield render_video(params, scene, background, lens, seed, "train", index)
    kinds = params.anomaly_kinds
    for index in range(params.n_train_anomalous):
        yield render_video(params, scene, background, lens, seed, "train", index, kinds[index % len(kinds)])
    for index in range(params.n_test):
        yield render_video(params, scene, background, lens, seed, "test", index)
