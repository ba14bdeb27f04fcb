# Config validation, paths, input functions and wildcard constraints shared by every rule.

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the package, also without `pip install`

from snakemake.utils import validate

from vadflow.config import (
    SCHEMA_PATH,
    available_datasets,
    check_config,
    merge_includes,
    dataset_root as configured_root,
    gpu_model,
    job_resources,
    resolve_method,
    seed_runs,
    table_cells,
    table_spec,
    blocked_rows,
    calibrated_cells,
)
from vadflow.data.layout import Manifest
from vadflow.data.shards import SHARD_FRAMES, plan_shards
from vadflow.data.supervision import training_videos
from vadflow.errors import ConfigError, DataError
from vadflow.features.spec import feature_spec, key_of, spec_id
from vadflow.reporting.fidelity import fidelity_inputs
from vadflow.reporting.published import published_file

# include: files are looked up beside the --configfile(s), then in the workflow's config/
_merged = merge_includes(
    config, [Path(f).resolve().parent for f in workflow.configfiles] + [Path(workflow.basedir) / "config"]
)
config.clear()
config.update(_merged)
check_config(config, "the config (config/config.yaml, --configfile or --config)")
validate(config, str(SCHEMA_PATH))  # also fills the schema's defaults

ENV = "../../envs/vadflow.yaml"
for _skipped in available_datasets(config, list(config["datasets"]))[1]:
    print(
        f"vadflow: dataset {_skipped!r} is left out: its root {config['datasets'][_skipped]['root']!r} names an "
        "environment variable that is not set (set it, or datasets.<name>.root)",
        file=sys.stderr,
    )
METHODS = {name: resolve_method(config, name).to_dict() for name in config["methods"]}
FUSED = [n for n, m in METHODS.items() if m["method"] == "late_fusion"]


def names_regex(names):
    """A wildcard constraint matching exactly these names (nothing, when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


TRAINED_RE = names_regex([n for n in METHODS if n not in FUSED])
FUSED_RE = names_regex(FUSED)


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    method="[A-Za-z0-9_.-]+",
    split="train|test",
    video="[^/]+",
    feature="[A-Za-z0-9_]+-[0-9a-f]{8}",
    key="[A-Za-z0-9_]+",
    shard="[0-9]{3}",


def dataset_cfg(dataset):
    return config["datasets"][dataset]


def synthetic_spec(wildcards):
    """What a synthetic dataset's videos depend on (not its decode settings)."""
    ds = dataset_cfg(wildcards.dataset)
    return {
        "generator": ds["generator"],
        "params": ds.get("params", {}),
        "seed": ds.get("seed", config["seed"]),
        "fps": ds.get("fps", 10.0),
        "color": ds.get("color", "rgb"),
        # only when set, so the other datasets' params (a rerun trigger) stay as they were
        **({"lossless": True} if ds.get("lossless") else {}),
    }


def dataset_root(wildcards):
    ds = dataset_cfg(wildcards.dataset)
    if ds["adapter"] == "synthetic":
        return f"data/synthetic/{wildcards.dataset}"
    root = configured_root(config, wildcards.dataset)
    if root is None or not root.exists():
        raise DataError(
            f"dataset {wildcards.dataset!r}: root {root} does not exist",
            f"set datasets.{wildcards.dataset}.root to the folder of your copy of the dataset",
        )
    return str(root)


def manifest(dataset):
    return Manifest.read(checkpoints.list_videos.get(dataset=dataset).output[0])


def split_videos(dataset, split, method=None):
    """The manifest entries of a split; for a method's training, those its supervision regime admits."""
    m = manifest(dataset)
    if split == "train" and method is not None:
        return training_videos(m, METHODS[method]["supervision"])
    return m.split(split)


def frame_stores(dataset, split, method=None):
    return [f"work/{dataset}/frames/{split}/{v.name}.zarr" for v in split_videos(dataset, split, method)]


def train_stores(wildcards):
    return frame_stores(wildcards.dataset, "train", wildcards.method)


def test_stores(wildcards):
    return frame_stores(wildcards.dataset, "test")


def shards(dataset, split):
    """{shard id: videos}: the jobs that decode a split and extract its features (vadflow.data.shards)."""
    return plan_shards(manifest(dataset).split(split), config.get("shard_frames", SHARD_FRAMES))


def shard_video_names(wildcards):
    return [v.name for v in shards(wildcards.dataset, wildcards.split)[wildcards.shard]]


def shard_sources(wildcards):
    """The source videos (or frame folders) of a shard's videos, and their annotation files."""
    videos = shards(wildcards.dataset, wildcards.split)[wildcards.shard]
    return [p for v in videos for p in (v.source, v.labels, v.masks) if p]


def shards_of(dataset, split, videos):
    """The ids of the shards holding these videos, in order."""
    owner = {v.name: sid for sid, members in shards(dataset, split).items() for v in members}
    return list(dict.fromkeys(owner[v.name] for v in videos))


def frame_shard_files(dataset, split, method=None):
    """What a job that reads these frame stores waits for: the decode jobs (shards) that write them."""
    ids = shards_of(dataset, split, split_videos(dataset, split, method))
    return [f"work/{dataset}/frames/{split}/shard-{s}.json" for s in ids]


def feature_shard_files(dataset, key, split, method=None):
    fid = spec_id(config, key)
    ids = shards_of(dataset, split, split_videos(dataset, split, method))
    return [f"work/{dataset}/features/{fid}/{split}/shard-{s}.json" for s in ids]


def test_shard_files(wildcards):
    return frame_shard_files(wildcards.dataset, "test")


def train_shard_files(wildcards):
    return frame_shard_files(wildcards.dataset, "train", wildcards.method)


def job_resource(job, name):
    """A train/score job's resource (vadflow.config.job_resources; None: not asked for)."""
    return lambda wildcards: job_resources(METHODS[wildcards.method], job).get(name)


def table_results(table):
    """The results of every cell of a table: each entry's, and its runs with the other seeds."""
    return sorted({f"results/{d}/{r}.json" for d, _, m in table_cells(config, table) for r in seed_runs(config, m)})


def table_calibrated(table):
    """The calibrated events of every cell of a table that shows events_calibrated.* (each seed's run)."""
    return sorted({f"results/{d}/calibrated/{r}.json" for d, _, m in calibrated_cells(config, table)
                   for r in seed_runs(config, m)})


def table_seeds(table):
    """The seed summaries of the cells whose entry trains with several seeds."""
    return sorted({f"results/{d}/seeds/{m}.json" for d, _, m in table_cells(config, table)
                   if len(seed_runs(config, m)) > 1})


def figure_methods(dataset):
    """Methods shown in a dataset's figures: table3's (paper tables are built from results alone,
    so asking for one never trains the methods of another)."""
    return [m for d, _, m in table_cells(config, "table3") if d == dataset]


def table_figures(table):
    datasets, _ = table_spec(config, table)
    return [f"reports/figures/{d}/roc.png" for d in datasets] + [
        f"reports/figures/{d}/timelines" for d in datasets
    ]


def checked_feature_key(feature):
    """The config key of a `<key>-<hash>` name, which must match the current config."""
    key = key_of(feature)
    current = spec_id(config, key)
    if current != feature:
        raise ConfigError(
            f"feature store name {feature!r} does not match the current config of features.{key}",
            f"ask for {current!r} (or for work/<dataset>/features/{key}.json)",
        )
    return key


def feature_params(feature):
    from dataclasses import asdict

    return asdict(feature_spec(config, checked_feature_key(feature)))


def feature_gpu(feature):
    return 0 if feature_spec(config, checked_feature_key(feature)).cpu_only else 1


def feature_source(wildcards):
    """The decode shard, or (temporal_max, I3D flow stream, a frame spec on flow images) the source
    spec's shard of the same videos."""
    spec = feature_spec(config, checked_feature_key(wildcards.feature))
    if spec.reads_features:
        source = spec_id(config, spec.source)
        return f"work/{wildcards.dataset}/features/{source}/{wildcards.split}/shard-{wildcards.shard}.json"
    return f"work/{wildcards.dataset}/frames/{wildcards.split}/shard-{wildcards.shard}.json"


def feature_shard_stores(wildcards):
    """(source stores, feature stores) of a feature shard's videos."""
    spec = feature_spec(config, checked_feature_key(wildcards.feature))
    d, split = wildcards.dataset, wildcards.split
    names = shard_video_names(wildcards)
    base = f"work/{d}/features/{spec_id(config, spec.source)}" if spec.reads_features else f"work/{d}/frames"
    return (
        [f"{base}/{split}/{v}.zarr" for v in names],
        [f"work/{d}/features/{wildcards.feature}/{split}/{v}.zarr" for v in names],
    )


def feature_stores(dataset, key, split, method=None):
    fid = spec_id(config, key)
    return [f"work/{dataset}/features/{fid}/{split}/{v.name}.zarr" for v in split_videos(dataset, split, method)]


def method_features(split):
    """{feature key: [feature store of each video of the split]} for the method's input.features."""

    def stores(wildcards):
        keys = METHODS[wildcards.method]["input"]["features"]
        return {key: feature_stores(wildcards.dataset, key, split, wildcards.method) for key in keys}

    return stores


def method_feature_inputs(split):
    """The feature shards (jobs) that write the stores of ``method_features``."""

    def files(wildcards):
        keys = METHODS[wildcards.method]["input"]["features"]
        return [f for key in keys for f in feature_shard_files(wildcards.dataset, key, split, wildcards.method)]

    return files


def paper_outputs(paper):
    """The outputs of the tables configured under reports whose output lies under reports/<paper>/."""
    return [spec["output"] for spec in config.get("reports", {}).values()
            if spec.get("output", "").startswith(f"reports/{paper}/")]


def detect_sources(wildcards):
    """The `detect:` folder's videos (vadflow.detect.video_files), so that a new video reruns detection."""
    from vadflow.detect import video_files

    return [str(p) for p in video_files([config["detect"]["videos"]])] if config.get("detect") else []


def detect_outputs(wildcards):
    if not config.get("detect"):
        raise ConfigError("`snakemake detect` needs a detect: section in the config",
                          "add detect: {videos: <folder>, models: [<dataset>/<method>]}")
    return [f"detections/{m}/detections.csv" for m in config["detect"]["models"]]


def split_description(dataset):
    """How a dataset's train/test split was made, for the results' protocol card (None: official)."""
    split = config["datasets"][dataset].get("split")
    if not split:
        return None
    how = ", ".join(f"{k} {v}" for k, v in sorted(split.items()))
    return f"re-split ({how}; every video listed in work/{dataset}/split.csv)"


def report_category(output):
    """A table's category in the HTML report: its paper (reports/<paper>/tableN.csv), as the paper's authors."""
    paper = Path(output).parent.name
    return REPORT_PAPERS.get(paper, paper)


REPORT_PAPERS = {
    "srnn": "Luo et al.: TSC / sRNN-AE",
    "anomalynet": "Zhou et al.: AnomalyNet",
    "adv3d": "Sun et al.: adversarial 3D conv AE",
    "dissociation": "Chang et al.: spatio-temporal dissociation",
    "lad": "Wan et al.: LAD multi-task, and DeepMIL",
}
