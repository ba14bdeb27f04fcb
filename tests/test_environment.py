"""The conda environment of `snakemake --sdm conda` (envs/vadflow.yaml) holds every runtime
dependency of the package (pyproject.toml) with the same version bounds: a job there imports what
a job in the venv imports (a missing `lightning` failed every GPU training job at import)."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import REPO

#: conda-forge names of PyPI packages where they differ
CONDA_NAMES = {"matplotlib": "matplotlib-base"}


def _requirements(lines) -> dict[str, str]:
    """{normalised name: version spec} of requirement strings."""
    out = {}
    for line in lines:
        m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", line.split("#")[0].split(";")[0])
        if m and m.group(1):
            out[m.group(1).lower().replace("_", "-")] = m.group(2).replace(" ", "")
    return out


def test_conda_environment_lists_every_runtime_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = _requirements(project["dependencies"])
    env = yaml.safe_load((REPO / "envs" / "vadflow.yaml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str)]
    pip = next(d["pip"] for d in env if isinstance(d, dict))
    have = {**_requirements(pip), **_requirements(c.replace("=", "==", 1) if re.match(r"^[\w\-]+=[^=<>]", c) else c
                                                  for c in conda)}
    missing = [n for n in needed if CONDA_NAMES.get(n, n) not in have]
    assert not missing, f"envs/vadflow.yaml lacks {missing} (runtime dependencies in pyproject.toml)"
    differ = {n: (spec, have[CONDA_NAMES.get(n, n)]) for n, spec in needed.items()
              if have[CONDA_NAMES.get(n, n)] != spec}
    assert not differ, f"version bounds differ between pyproject.toml and envs/vadflow.yaml: {differ}"
