"""Make the vadflow package importable from the repository's src/ even where it is not pip-installed
(a conda env made by `--sdm conda`, a cluster node). Imported first by every script."""

import sys
from pathlib import Path

_SRC = Path(__file__).resolve().parents[2] / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))
