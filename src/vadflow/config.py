"""Load and check the workflow configuration, and resolve method entries and their variants.

The JSON schema (``schemas/config.schema.yaml``) checks structure and types;
this module adds what a schema cannot: that names refer to things that exist and
that each method's hyper-parameters are ones the method knows.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from importlib import resources
from pathlib import Path
from typing import Mapping, TYPE_CHECKING, Any

import jsonschema
import yaml

from vadflow.errors import ConfigError

if TYPE_CHECKING:
    from vadflow.methods.api import MethodRun

SCHEMA_PATH = Path(str(resources.files("vadflow") / "schemas" / "config.schema.yaml"))


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (override wins)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


_YAML_TYPES = {"integer": int, "number": (int, float), "boolean": bool}


def coerce_cli_strings(node: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """Parse strings where the schema wants a number or boolean, in place.

    Snakemake hands nested ``--config`` values over as strings (``'4'``); the same
    value written in a YAML config file is an int. Returns the (possibly new) node.
    """
    root = root or schema
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].split("/")[-1]]
    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if isinstance(node, str) and any(t in _YAML_TYPES for t in types):
        try:
            parsed = yaml.safe_load(node)
        except yaml.YAMLError:
            return node
        if any(isinstance(parsed, _YAML_TYPES[t]) for t in types if t in _YAML_TYPES) and not (
            isinstance(parsed, bool) and "boolean" not in types
        ):
            return parsed
        return node
    if isinstance(node, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for k in list(node):
            sub = props.get(k, extra if isinstance(extra, dict) else None)
            if sub is not None:
                node[k] = coerce_cli_strings(node[k], sub, root)
    elif isinstance(node, list) and isinstance(schema.get("items"), dict):
        node[:] = [coerce_cli_strings(v, schema["items"], root) for v in node]
    return node


def validate_schema(cfg: dict[str, Any], source: str = "the config") -> None:
    """Check ``cfg`` against the schema, raising one ConfigError that names the key."""
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(list(e.absolute_path)), str(e.message)))
    if not errors:
        return
    e = errors[0]
    where = _key_path(e)
    if e.validator == "additionalProperties":
        allowed = sorted(e.schema.get("properties", {}))
        hint = f"remove or rename it in {source}; allowed keys here: {', '.join(allowed) or 'any name'}"
        raise ConfigError(f"unknown config key at {where}: {e.message}", hint)
    raise ConfigError(f"config key {where}: {e.message}", f"fix the value in {source}")


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist", "pass an existing file, e.g. config/config.yaml")
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}", "fix the YAML syntax") from exc


def merge_includes(cfg: dict[str, Any], folders: list[Path], sources: dict[str, list[str]] | None = None,
                   _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """``cfg`` with the files its ``include:`` names merged in, recursively; the including file
    wins over what it includes, and later includes over earlier ones. Each include is looked
    up relative to ``folders`` in turn (the including file's folder first). ``sources``, when
    given, collects for every top-level key and section entry ("methods.tsc") the files that
    define it (for DVC's per-file params)."""
    merged: dict[str, Any] = {}
    for name in cfg.get("include", []) or []:
        found = next((f / name for f in folders if (f / name).is_file()), None)
        if found is None:
            raise ConfigError(f"include: {name} was not found in {', '.join(map(str, folders))}",
                              "give a path relative to the including config file")
        found = found.resolve()
        if found in _seen:
            raise ConfigError(f"include: {found} includes itself", "break the include loop")
        sub = _read_yaml(found)
        _record_sources(sub, str(found), sources)
        merged = deep_merge(merged, merge_includes(sub, [found.parent, *folders], sources, (*_seen, found)))
    out = deep_merge(merged, {k: v for k, v in cfg.items() if k != "include"})
    return out


#: config sections tracked entry by entry (by include source and as DVC params); every other
#: top-level key is tracked whole
SECTION_KEYS = ("datasets", "methods", "features", "reports")


def _record_sources(cfg: dict[str, Any], source: str, sources: dict[str, list[str]] | None) -> None:
    if sources is None:
        return
    for k, v in cfg.items():
        if k == "include":
            continue
        keys = [f"{k}.{e}" for e in v] if k in SECTION_KEYS and isinstance(v, dict) else [k]
        for key in keys:
            sources.setdefault(key, [])
            if source not in sources[key]:
                sources[key].append(source)


def read_config(path: str | Path, sources: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A config file with its includes merged in (not yet checked)."""
    path = Path(path)
    cfg = _read_yaml(path)
    _record_sources(cfg, str(path.resolve()), sources)
    return merge_includes(cfg, [path.resolve().parent], sources)


def load_config(path: str | Path) -> dict[str, Any]:
    """Read, merge the includes of, and check a config file."""
    cfg = read_config(path)
    check_config(cfg, str(path))
    return cfg


def _variant_entry(methods: dict[str, Any], name: str) -> dict[str, Any]:
    """A method entry with its ``base`` chain merged in (the entry wins; labels are not inherited)."""
    chain, entry = [name], methods[name]
    while "base" in entry:
        base = entry["base"]
        if base not in methods:
            raise ConfigError(f"methods.{chain[-1]}.base names {base!r}, which is not configured", "fix the base name")
        if base in chain:
            raise ConfigError(f"methods.{name}: variant chain loops: {' -> '.join(chain + [base])}", "break the loop")
        chain.append(base)
        merged = {k: v for k, v in methods[base].items() if k != "label"}
        entry = deep_merge(merged, {k: v for k, v in entry.items() if k != "base"})
        if "base" in methods[base]:
            entry["base"] = methods[base]["base"]
        else:
            entry.pop("base", None)
    return entry


def resolve_method(cfg: dict[str, Any], name: str) -> "MethodRun":
    """A method entry resolved into a ``MethodRun``: its ``base`` chain merged in, defaults
    filled from the method's ``MethodInfo``, params and input checked, the trainer settings of
    ``trainer:`` and the entry's own ``trainer:`` combined. Imports no torch."""
    from vadflow.methods import method_info
    from vadflow.methods.api import InputSpec, MethodRun, Supervision, TrainerParams
    from vadflow.params import params_from_dict

    methods = cfg.get("methods", {})
    if name not in methods:
        raise ConfigError(f"method {name!r} is not configured", f"configured methods: {', '.join(methods)}")
    if "fusion" in methods[name]:
        return _resolve_fusion(cfg, name, methods[name])
    entry = _variant_entry(methods, name)
    if "method" not in entry:
        raise ConfigError(f"methods.{name} names no method", "add `method: <registered name>` or `base: <entry>`")
    info = method_info(entry["method"])
    where = f"methods.{name}"
    default_input = {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(info.default_input).items()
    }
    trainer = params_from_dict(TrainerParams, {**cfg.get("trainer", {}), **entry.get("trainer", {})},
                               f"{where}.trainer")
    _check_trainer(info, trainer, where)
    resources = {**info.resources, **entry.get("resources", {})}
    if trainer.devices > 1 and resources.get("gpu", 0):
        if "gpu" in entry.get("resources", {}) and resources["gpu"] != trainer.devices:
            raise ConfigError(
                f"{where}: trainer.devices is {trainer.devices} but resources.gpu is {resources['gpu']}",
                f"drop resources.gpu (it follows trainer.devices), or set it to {trainer.devices} (0: DDP on CPUs)",
            )
        resources["gpu"] = trainer.devices
    return MethodRun(
        name=name,
        method=entry["method"],
        label=entry.get("label", info.label if name == entry["method"] else f"{info.label} ({name})"),
        supervision=Supervision.parse(entry.get("supervision", info.supervision), f"{where}.supervision"),
        seed=seeds_of(cfg, name)[0],
        input=params_from_dict(InputSpec, {**default_input, **entry.get("input", {})}, f"{where}.input"),
        params=params_from_dict(info.Params, entry.get("params", {}), f"{where}.params"),
        resources=resources,
        trainer=trainer,
    )


def _check_trainer(info: Any, trainer: Any, where: str) -> None:
    """What a method's trainer settings must respect (its ``MethodInfo`` says why)."""
    if info.fp32_only and not trainer.full_precision:
        raise ConfigError(
            f"{where}: {info.name} trains in 32-bit, not trainer.precision {trainer.precision}: {info.fp32_only}",
            f"set {where}.trainer.precision: 32-true (other methods may keep mixed precision)",
        )
    if info.single_process and (trainer.devices > 1 or trainer.strategy != "auto"):
        raise ConfigError(
            f"{where}: {info.name} trains in one process ({info.single_process}), not with trainer.devices "
            f"{trainer.devices} / strategy {trainer.strategy}",
            f"set {where}.trainer: {{devices: 1, strategy: auto}}",
        )


def job_resources(run: Mapping[str, Any], job: str) -> dict[str, Any]:
    """The resources a ``train`` or ``score`` job of a resolved entry (``MethodRun.to_dict()``) asks
    the scheduler for. A training job of ``trainer.devices`` > 1 processes asks for them all:
    ``threads`` and ``mem_mb`` per process times the processes, one Slurm task per process
    (``tasks``, ``cpus_per_task`` each) and, through ``mpi``, a batch step from which the engine's
    launcher starts them with ``srun`` (the Slurm plugin's own ``srun -n1`` would give one task).
    Scoring is one process."""
    res = dict(run.get("resources") or {})
    threads, mem = int(res.get("threads", 2)), int(res.get("mem_mb", 4000))
    devices = int((run.get("trainer") or {}).get("devices", 1)) if job == "train" else 1
    gpus = int(res.get("gpu", 0))  # = trainer.devices for a multi-GPU entry (resolve_method); one for scoring
    out = {"threads": threads * devices, "mem_mb": mem * devices, "runtime": int(res.get("runtime", 60)),
           "gpu": gpus if job == "train" else min(gpus, 1),
           "tasks": devices, "cpus_per_task": threads, "tasks_per_gpu": 1}
    out["gpu_model"] = gpu_model(out["gpu"])
    if devices > 1:
        out["mpi"] = "srun"
    return out


def gpu_model(gpus: int) -> str | None:
    """The GPU type a job that asks for ``gpus`` > 0 GPUs requests ($VADFLOW_SLURM_GPU_MODEL, read by
    the Slurm profile's plugin as ``--gpus=<model>:<n>``); None for a job without GPUs (a model
    with a count of 0 would still constrain it to GPU nodes on some clusters) or when unset."""
    model = os.environ.get("VADFLOW_SLURM_GPU_MODEL", "").strip()
    return model if model and gpus > 0 else None


def _resolve_fusion(cfg: dict[str, Any], name: str, entry: dict[str, Any]) -> "MethodRun":
    """A late-fusion entry (vadflow.fusion): nothing is trained; its two streams must be trained entries."""
    from vadflow.fusion import LateFusionParams
    from vadflow.methods.api import InputSpec, MethodRun, Supervision
    from vadflow.params import params_from_dict

    params = params_from_dict(LateFusionParams, entry["fusion"], where=f"methods.{name}.fusion")
    streams = {}
    for role in ("spatial", "temporal"):
        stream = getattr(params, role)
        if stream not in cfg["methods"] or "fusion" in cfg["methods"][stream]:
            raise ConfigError(
                f"methods.{name}.fusion.{role} names {stream!r}, which is not a configured (unfused) method",
                "name two entries of methods: that are trained",
            )
        streams[role] = resolve_method(cfg, stream)
    return MethodRun(
        name=name,
        method="late_fusion",
        label=entry.get("label", f"{streams['spatial'].label} + {streams['temporal'].label} (late fusion)"),
        supervision=Supervision.parse(entry.get("supervision", streams["spatial"].supervision)),
        seed=seeds_of(cfg, name)[0],
        input=InputSpec(),
        params=params,
        resources={"mem_mb": 2000, "runtime": 10, "threads": 1},
    )


#: the name of an entry's run with another seed: <entry>.seed<s>
SEED_VARIANT = re.compile(r"^(?P<base>.+)\.seed(?P<seed>\d+)$")


def seed_variant(name: str, seed: int) -> str:
    return f"{name}.seed{seed}"


def seed_base(name: str) -> tuple[str, int | None]:
    """(entry, seed) of a seed variant's name; (name, None) for any other entry."""
    m = SEED_VARIANT.match(name)
    return (m["base"], int(m["seed"])) if m else (name, None)


def _is_seeded(cfg: dict[str, Any], name: str) -> bool:
    from vadflow.methods import method_info

    entry = _variant_entry(cfg["methods"], name)
    if "fusion" in entry:
        return _is_seeded(cfg, entry["fusion"]["spatial"]) or _is_seeded(cfg, entry["fusion"]["temporal"])
    return "method" in entry and method_info(entry["method"]).seeded


def seeds_of(cfg: dict[str, Any], name: str) -> list[int]:
    """The seeds an entry trains with: its own ``seeds``; else the run's ``seeds`` unless the entry
    sets its own ``seed``; else just its seed. A method whose result does not depend on the seed (a
    floor) trains once; a seed variant is one run. A fusion has its streams' seeds."""
    entry = cfg["methods"][name]
    if not _is_seeded(cfg, name):
        return [int(entry.get("seed", cfg.get("seed", 0)))]
    if "seeds" in entry:
        return [int(s) for s in entry["seeds"]]
    if "seeds" in cfg and "seed" not in entry:
        return [int(s) for s in cfg["seeds"]]
    return [int(entry.get("seed", cfg.get("seed", 0)))]


def expand_seeds(cfg: dict[str, Any]) -> None:
    """Give every entry with several seeds one more entry per further seed, ``<name>.seed<s>``, the same
    entry with that seed (in place; a late fusion fuses its streams' runs of the same seed). The
    workflow trains, scores and evaluates them like any entry; tables gather them under the entry."""
    methods = cfg["methods"]
    for name in list(methods):
        base, seed = seed_base(name)
        if seed is not None and not (base in methods and seed in seeds_of(cfg, base)[1:]):
            raise ConfigError(f"methods.{name}: names ending in .seed<N> are the workflow's runs of an entry "
                              "with another seed", "rename the entry, or list the seeds under its seeds:")
    variants = []
    for name in [n for n in methods if seed_base(n)[1] is None]:
        seeds = seeds_of(cfg, name)
        entry = methods[name]
        if "fusion" in entry and len(seeds) > 1:
            streams = [entry["fusion"]["spatial"], entry["fusion"]["temporal"]]
            if any(seeds_of(cfg, s) != seeds for s in streams):
                raise ConfigError(f"methods.{name}: a late fusion with seeds {seeds} needs both streams trained "
                                  f"with the same seeds ({', '.join(streams)})", "give the streams the same seeds:")
        for s in seeds[1:]:
            if seed_variant(name, s) in methods:  # expanded already (the config is checked twice)
                continue
            variant = {k: v for k, v in entry.items() if k != "seeds"}
            variant["seed"] = s
            if "fusion" in entry:
                variant["fusion"] = {**entry["fusion"], "spatial": seed_variant(entry["fusion"]["spatial"], s),
                                     "temporal": seed_variant(entry["fusion"]["temporal"], s)}
            variants.append((seed_variant(name, s), variant))
    for name, variant in variants:
        methods[name] = variant


def seed_runs(cfg: dict[str, Any], name: str) -> list[str]:
    """The entry and its seed variants (``expand_seeds``), in seed order."""
    return [name] + [seed_variant(name, s) for s in seeds_of(cfg, name)[1:] if seed_variant(name, s) in cfg["methods"]]


def check_config(cfg: dict[str, Any], source: str = "the config") -> None:
    """Everything that can be checked before any job runs (command-line strings are parsed in place).
    Seed variants are added to ``methods`` (``expand_seeds``)."""
    coerce_cli_strings(cfg, load_schema())
    validate_schema(cfg, source)
    expand_seeds(cfg)
    for name, ds in cfg["datasets"].items():  # paths beside the root: ${VAR} as in roots (an unset one: an error)
        if ds.get("adapter") != "synthetic" and dataset_root(cfg, name) is not None:
            for key in ("options", "split"):
                if key in ds:
                    ds[key] = _expand_paths(ds[key], f"datasets.{name}.{key}")
    for key, spec in cfg.get("features", {}).items():  # an unset variable: the checkpoint is missing (row not run)
        if isinstance(spec.get("weights"), str):
            spec["weights"] = expand_vars(spec["weights"])[0]
    if cfg.get("detect"):
        cfg["detect"]["videos"] = _expand_paths(cfg["detect"]["videos"], "detect.videos")
    for name, ds in cfg["datasets"].items():
        adapter = ds["adapter"]
        if adapter == "synthetic":
            if "generator" not in ds:
                raise ConfigError(f"datasets.{name}: a synthetic dataset needs `generator`", "use walkway or moving_digits")
            from vadflow.data.synthetic_dataset import generator_params

            generator_params(ds["generator"], ds.get("params", {}), where=f"datasets.{name}.params")
        else:
            from vadflow.data.layout import adapter_names

            if adapter not in adapter_names():
                raise ConfigError(f"datasets.{name}.adapter {adapter!r} is not known", f"use one of {adapter_names()}")
            if "root" not in ds:
                raise ConfigError(f"datasets.{name} needs `root`, the folder of the dataset", f"set datasets.{name}.root")
    for name in cfg["methods"]:
        for key in resolve_method(cfg, name).input.features:
            if key not in cfg.get("features", {}):
                raise ConfigError(
                    f"methods.{name}.input.features names {key!r}, which is not configured",
                    f"add it under features: (configured: {', '.join(cfg.get('features', {})) or 'none'})",
                )
    from vadflow.features.spec import check_features

    check_features(cfg)
    for table, spec in cfg.get("reports", {}).items():
        for m, cells in spec.get("paper", {}).items():  # as for `use`, cells outside the table are ignored
            unknown = [d for d in cells if d not in cfg["datasets"]] + ([m] if m not in cfg["methods"] else [])
            if unknown:
                raise ConfigError(f"reports.{table}.paper names {unknown}, not in the table", "fix the paper figures")
        if spec.get("published"):
            from vadflow.reporting.published import published_table

            published_table(spec["published"])  # the paper's file and table exist
        for ds in spec.get("datasets", []):
            if ds not in cfg["datasets"]:
                raise ConfigError(f"reports.{table}.datasets names {ds!r}, which is not configured", "add it under datasets")
        for m in spec.get("methods", []):
            if m not in cfg["methods"]:
                raise ConfigError(f"reports.{table}.methods names {m!r}, which is not configured", "add it under methods")
        for ds, swaps in spec.get("use", {}).items():
            # cells outside the table are ignored: a --config that narrows a table keeps the default's swaps
            for row, m in swaps.items():
                where = f"reports.{table}.use.{ds}.{row}"
                if ds not in cfg["datasets"]:
                    raise ConfigError(f"{where}: dataset {ds!r} is not configured", "name a configured dataset")
                if m is not None and m not in cfg["methods"]:
                    raise ConfigError(f"{where} names {m!r}, which is not configured", "add it under methods")


_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def expand_vars(text: str) -> tuple[str, list[str]]:
    """``text`` with ``${VAR}`` / ``${VAR:-default}`` and a leading ``~`` expanded, and the names of the
    variables it needed that are not set (those are left as written)."""
    missing: list[str] = []

    def expand(m: re.Match) -> str:
        value = os.environ.get(m["name"]) or m["default"]
        if value is None:
            missing.append(m["name"])
            return m[0]
        return value

    return os.path.expanduser(_VAR.sub(expand, text)), missing


def dataset_root(cfg: dict[str, Any], dataset: str) -> Path | None:
    """A real dataset's root with ``${VAR}`` / ``${VAR:-default}`` and ``~`` expanded;
    None where it names an environment variable that is not set (the dataset is not available)."""
    root = cfg["datasets"][dataset].get("root")
    if root is None:
        return None
    expanded, missing = expand_vars(root)
    return None if missing else Path(expanded)


def _expand_paths(node: Any, where: str) -> Any:
    """Every string of ``node`` (a path an adapter option or a split names) with ``${VAR}`` expanded; an
    unset variable is an error naming the key (the dataset itself is available)."""
    if isinstance(node, dict):
        return {k: _expand_paths(v, f"{where}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_paths(v, f"{where}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str) and "$" in node:
        expanded, missing = expand_vars(node)
        if missing:
            raise ConfigError(f"{where} is {node!r}, which names the environment variable(s) {', '.join(missing)}, "
                              "not set", f"set {' and '.join(missing)}, or write the path itself")
        return expanded
    return node


def available_datasets(cfg: dict[str, Any], datasets: list[str]) -> tuple[list[str], list[str]]:
    """(usable, skipped): a real dataset whose root names an unset environment variable is skipped."""
    usable, skipped = [], []
    for d in datasets:
        ds = cfg["datasets"][d]
        (skipped if ds["adapter"] != "synthetic" and dataset_root(cfg, d) is None else usable).append(d)
    return usable, skipped


def cell_method(use: dict[str, dict[str, str | None]] | None, dataset: str, row: str) -> str | None:
    """The method entry whose result a table row shows on a dataset (``use`` swaps, else the row);
    None where ``use`` sets the cell to null: the row's method does not run on that dataset."""
    return (use or {}).get(dataset, {}).get(row, row)


def table_cells(cfg: dict[str, Any], table: str) -> list[tuple[str, str, str]]:
    """(dataset, row, method) of every cell of a report table. The method is the row's own
    entry unless ``use: {dataset: {row: entry}}`` swaps in another on that dataset, for a
    paper that feeds a method other inputs there (Luo et al. run TSC and sRNN-AE on raw
    intensities on moving digits, on CNN features elsewhere). Cells ``use`` sets to null are left
    out: a method whose protocol does not apply to that dataset (the table shows an empty cell)."""
    datasets, rows = table_spec(cfg, table)
    use = cfg.get("reports", {}).get(table, {}).get("use", {})
    cells = [(d, r, cell_method(use, d, r)) for r in rows for d in datasets]
    blocked = {m for m in {c[2] for c in cells if c[2] is not None} if missing_checkpoint(cfg, m)}
    return [c for c in cells if c[2] is not None and c[2] not in blocked]


def calibrated_cells(cfg: dict[str, Any], table: str) -> list[tuple[str, str, str]]:
    """The cells of a table that show events on the calibrated scale (``events_calibrated.*`` as its
    metric or a column), each needing its model's calibration; a late fusion has no model to calibrate."""
    spec = cfg.get("reports", {}).get(table, {})
    if not any(str(f).startswith("events_calibrated") for f in [spec.get("metric", ""), *spec.get("columns", [])]):
        return []
    return [c for c in table_cells(cfg, table) if cfg["methods"][c[2]].get("method") != "late_fusion"]


def blocked_rows(cfg: dict[str, Any], table: str) -> dict[str, str]:
    """{method entry: why it is not run} for the rows of a table that need a missing checkpoint."""
    _, rows = table_spec(cfg, table)
    return {m: why for m in rows if (why := missing_checkpoint(cfg, m))}


def missing_checkpoint(cfg: dict[str, Any], name: str) -> str | None:
    """Why a method entry cannot run here, or None: a feature spec it reads (directly, through a
    ``source`` or a fusion's streams) uses a backbone that ships no weights (ResNet, VGG, AlexNet)
    and has no readable ``weights:`` file. Tables show such rows as not run instead of failing."""
    from vadflow.features.spec import USER_CHECKPOINT_BACKBONES, feature_spec

    run = resolve_method(cfg, name)
    if run.method == "late_fusion":
        return missing_checkpoint(cfg, run.params.spatial) or missing_checkpoint(cfg, run.params.temporal)
    keys, seen = list(run.input.features), set()
    while keys:
        key = keys.pop()
        if key in seen:
            continue
        seen.add(key)
        spec = feature_spec(cfg, key)
        if spec.source:
            keys.append(spec.source)
        if spec.cpu_only or spec.backbone not in USER_CHECKPOINT_BACKBONES or spec.kind == "i3d":
            continue
        if spec.weights is None:
            return f"needs a checkpoint of {spec.backbone}: set features.{key}.weights"
        path, unset = expand_vars(spec.weights)
        if unset:
            return (f"needs a checkpoint of {spec.backbone}: features.{key}.weights = {spec.weights} names "
                    f"{', '.join(unset)}, which is not set")
        if not Path(path).is_file():
            return f"needs a checkpoint of {spec.backbone}: features.{key}.weights = {path} is not a file"
    return None


def table_spec(cfg: dict[str, Any], table: str) -> tuple[list[str], list[str]]:
    """(datasets, methods) of a report table; all configured ones where the table names none.
    Datasets whose root is not available (an unset environment variable) are left out."""
    spec = cfg.get("reports", {}).get(table, {})
    datasets, _ = available_datasets(cfg, list(spec.get("datasets", cfg["datasets"])))
    return datasets, list(spec.get("methods", cfg["methods"]))
