"""The synthetic mutual-coherence study of AnomalyNet (Zhou et al., TIFS 2019, sec. 4.4.2,
Tables 1-2): learn a dictionary from x = B s with LISTA, LFISTA and SLSTM, all trained with the
same loss (eq. 17), and compare the mutual coherence μ (eq. 20) of each learned dictionary with μ
of the generating B ("Original Dict").

The protocol as the paper specifies it:

* 10k ground-truth codes s ∈ R^{d_s}, each with ρ ∈ {2, 4, 6, 8} non-zeros at random positions,
  values from U[−0.7, 0.7] excluding [−0.3, 0.3] (``sparse_codes``: |v| ~ U[0.3, 0.7] with a fair
  random sign, which is exactly that distribution); inputs x = B s.
* Table 1, Assumption 1 (low rank): B = ηR + UV, U (d_x, r), V (r, d_s) i.i.d. U(0, 1),
  η = 0.3, r = 5, d_x = 20, d_s = 100 (``low_rank_dictionary``).
* Table 2, Assumption 2 (clustered): B = [B_1 .. B_C], B_j = u_j d_jᵀ + ηR_j, u_j ∈ R^{d_x},
  d_j ∈ R^d i.i.d. U(0, 1), η = 0.3, C = 50, d_x = 20, d_s = 100, d = d_s/C = 2
  (``clustered_dictionary``).

What the paper leaves open and what we do (also in docs/papers/anomalynet.md):

* R, R_j: i.i.d. U(0, 1), the distribution the paper gives for the other factors. It is the one
  that reproduces the "Original Dict" column of both tables: μ of B over 5 seeds is 0.998-0.999
  (Table 1; paper 0.990-0.997) and 0.985-0.990 (Table 2; paper 0.990-0.998), where N(0, 1) gives
  0.986-0.994 (Table 1) but 0.85-0.89 (Table 2). ``r_dist="normal"`` switches.
* A fresh B for every ρ (the paper's "Original Dict" differs between rows, so it drew one per row);
  seeds derived from (``seed``, table, ρ).
* λ = 0.1 (the paper's value for the video experiments, sec. 5.4); K = 10 unrolled steps for every
  solver; Adam, learning rate 1e-3, batch 100, 5 epochs over the training split; 80 % of the 10k
  vectors train, 20 % are held out (their eq.-17 loss is reported beside μ, it does not select
  anything).
* The learned solvers start from ISTA's weights for one random dictionary (i.i.d. N(0, 1) columns
  normalised to unit norm), the same for the three solvers at a given ρ; not from the generating B,
  which they are meant to recover from x alone. SLSTM's other weights as in ``SLSTM``.
* The learned dictionary is the tied decoder B = W_dᵀ/τ of eq. 16 for all three (the "same loss").
* No column-norm constraint (eq. 17 has none; μ does not depend on column norms).
* Single-threaded CPU, float32, every random draw from seeded ``torch.Generator``s: deterministic.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from vadflow.methods.nn.unrolled import UnrolledSolver, make_solver, mutual_coherence, sc2net_loss
from vadflow.reporting.tables import write_table

#: the learned solvers of Tables 1-2, in the paper's column order
LEARNED = ("lista", "lfista", "slstm")
#: table name -> (assumption, dictionary builder name)
TABLES = {"table1": "low_rank", "table2": "clustered"}
_TABLE_INDEX = {"table1": 1, "table2": 2}


@dataclass(frozen=True)
class CoherenceConfig:
    n_vectors: int = 10_000
    rhos: tuple[int, ...] = (2, 4, 6, 8)
    d_x: int = 20
    d_s: int = 100
    eta: float = 0.3
    rank: int = 5
    clusters: int = 50
    #: distribution of R, R_j (the paper does not say): "uniform" U(0, 1) like U, V, u_j, d_j, or
    #: "normal" N(0, 1)
    r_dist: str = "uniform"
    lam: float = 0.1
    K: int = 10
    epochs: int = 5
    batch_size: int = 100
    lr: float = 1e-3
    train_fraction: float = 0.8
    seed: int = 0
    solvers: tuple[str, ...] = field(default=LEARNED)


def _noise(cfg: CoherenceConfig, rows: int, cols: int, generator: torch.Generator) -> torch.Tensor:
    if cfg.r_dist == "uniform":
        return torch.rand(rows, cols, generator=generator)
    if cfg.r_dist == "normal":
        return torch.randn(rows, cols, generator=generator)
    raise ValueError(f"r_dist must be 'uniform' or 'normal', got {cfg.r_dist!r}")


def low_rank_dictionary(cfg: CoherenceConfig, generator: torch.Generator) -> torch.Tensor:
    """Assumption 1: B = ηR + UV, U (d_x, r) and V (r, d_s) i.i.d. U(0, 1), R i.i.d. N(0, 1)."""
    U = torch.rand(cfg.d_x, cfg.rank, generator=generator)
    V = torch.rand(cfg.rank, cfg.d_s, generator=generator)
    R = _noise(cfg, cfg.d_x, cfg.d_s, generator)
    return cfg.eta * R + U @ V


def clustered_dictionary(cfg: CoherenceConfig, generator: torch.Generator) -> torch.Tensor:
    """Assumption 2: B = [B_1 .. B_C], B_j = u_j d_jᵀ + ηR_j, u_j (d_x,), d_j (d,) i.i.d. U(0, 1),
    d = d_s / C, R_j (d_x, d) per ``r_dist``."""
    if cfg.d_s % cfg.clusters:
        raise ValueError(f"d_s = {cfg.d_s} is not a multiple of C = {cfg.clusters}")
    d = cfg.d_s // cfg.clusters
    blocks = []
    for _ in range(cfg.clusters):
        u = torch.rand(cfg.d_x, 1, generator=generator)
        dj = torch.rand(d, 1, generator=generator)
        R = _noise(cfg, cfg.d_x, d, generator)
        blocks.append(u @ dj.T + cfg.eta * R)
    return torch.cat(blocks, 1)


DICTIONARIES = {"low_rank": low_rank_dictionary, "clustered": clustered_dictionary}


def sparse_codes(n: int, d_s: int, rho: int, generator: torch.Generator) -> torch.Tensor:
    """(n, d_s) codes with ρ non-zeros per row at random distinct positions, values uniform on
    [−0.7, −0.3] ∪ [0.3, 0.7] (U[−0.7, 0.7] excluding [−0.3, 0.3])."""
    support = torch.rand(n, d_s, generator=generator).argsort(dim=1)[:, :rho]
    magnitude = 0.3 + 0.4 * torch.rand(n, rho, generator=generator)
    sign = torch.where(torch.rand(n, rho, generator=generator) < 0.5, -1.0, 1.0)
    s = torch.zeros(n, d_s)
    s.scatter_(1, support, magnitude * sign)
    return s


def _seed(cfg: CoherenceConfig, table: str, rho: int, salt: int) -> int:
    return int(cfg.seed) * 1_000_003 + _TABLE_INDEX[table] * 10_007 + int(rho) * 101 + salt


def train_solver(
    solver: UnrolledSolver, x_train: torch.Tensor, cfg: CoherenceConfig, generator: torch.Generator
) -> list[float]:
    """Minimise eq. 17 (``sc2net_loss``) with Adam over shuffled mini-batches; the mean training
    loss of each epoch."""
    opt = torch.optim.Adam(solver.parameters(), lr=cfg.lr)
    history = []
    for _ in range(cfg.epochs):
        order = torch.randperm(x_train.shape[0], generator=generator)
        total, batches = 0.0, 0
        for start in range(0, x_train.shape[0], cfg.batch_size):
            xb = x_train[order[start : start + cfg.batch_size]]
            loss = solver.loss(xb, cfg.lam)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
            batches += 1
        history.append(total / max(batches, 1))
    return history


def coherence_row(table: str, rho: int, cfg: CoherenceConfig) -> dict[str, Any]:
    """One row of Table 1 or 2: μ of the generating B and of each learned dictionary at this ρ,
    with each solver's held-out eq.-17 loss (``<solver>_heldout_loss``)."""
    gen_data = torch.Generator().manual_seed(_seed(cfg, table, rho, 0))
    B = DICTIONARIES[TABLES[table]](cfg, gen_data)
    s = sparse_codes(cfg.n_vectors, cfg.d_s, rho, gen_data)
    x = s @ B.T
    n_train = int(round(cfg.train_fraction * cfg.n_vectors))
    x_train, x_test = x[:n_train], x[n_train:]
    gen_init = torch.Generator().manual_seed(_seed(cfg, table, rho, 1))
    B0 = torch.randn(cfg.d_x, cfg.d_s, generator=gen_init)
    B0 = B0 / B0.norm(dim=0, keepdim=True)
    row: dict[str, Any] = {"rho": rho, "original": mutual_coherence(B), "initial": mutual_coherence(B0)}
    for k, name in enumerate(cfg.solvers):
        solver = make_solver(name, B0, cfg.lam, cfg.K, seed=_seed(cfg, table, rho, 2 + k))
        train_solver(solver, x_train, cfg, torch.Generator().manual_seed(_seed(cfg, table, rho, 10 + k)))
        with torch.no_grad():
            row[name] = mutual_coherence(solver.dictionary())
            if x_test.shape[0]:
                row[f"{name}_heldout_loss"] = float(sc2net_loss(x_test, solver(x_test), solver.dictionary(), cfg.lam))
    return row


def coherence_table(table: str, cfg: CoherenceConfig = CoherenceConfig()) -> list[dict[str, Any]]:
    """Table 1 (``table1``, low rank) or Table 2 (``table2``, clustered): one row per ρ."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}: use table1 or table2")
    return [coherence_row(table, rho, cfg) for rho in cfg.rhos]


# ----------------------------------------------------------------------------- report files

_PUBLISHED_ROWS = {"original": "Original Dict", "lista": "LISTA", "lfista": "LFISTA", "slstm": "SLSTM"}
#: our extra row: μ of the random dictionary the three solvers start from (no published figure)
_INITIAL = "Initial dict (ours)"


def _published(table: str) -> dict[str, dict[int, float]]:
    """{row key: {ρ: figure}} from ``vadflow/published/anomalynet.yaml``."""
    from vadflow.reporting.published import published_table

    t = published_table(f"anomalynet/{table}")
    by_label = {r["row"]: r for r in t.rows}
    out = {}
    for key, label in _PUBLISHED_ROWS.items():
        values = by_label[label]["values"]
        out[key] = {int(str(k).removeprefix("rho")): float(v) for k, v in values.items()}
    return out


def write_coherence_tables(out_dir: str | Path, cfg: CoherenceConfig = CoherenceConfig()) -> dict[str, Any]:
    """Write ``table1.csv``/``.md`` and ``table2.csv``/``.md`` in ``out_dir``: per ρ and row (Original
    Dict, LISTA, LFISTA, SLSTM) our μ beside the published one, the held-out eq.-17 loss, and our
    extra row: μ of the random dictionary the solvers start from. Returns {table: seconds}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timing = {}
    for table in TABLES:
        t0 = time.perf_counter()
        rows = coherence_table(table, cfg)
        timing[table] = time.perf_counter() - t0
        pub = _published(table)
        records = []
        for r in rows:
            records.append({"rho": r["rho"], "row": _INITIAL, "ours": round(r["initial"], 4), "published": "",
                            "heldout_loss": ""})
            for key, label in _PUBLISHED_ROWS.items():
                if key != "original" and key not in r:
                    continue
                records.append(
                    {
                        "rho": r["rho"],
                        "row": label,
                        "ours": round(r[key], 4),
                        "published": pub[key].get(r["rho"]),
                        "heldout_loss": "" if key == "original" else round(r[f"{key}_heldout_loss"], 4),
                    }
                )
        caption = {
            "table1": "Assumption 1 (low-rank dictionary): mutual coherence, lower is better",
            "table2": "Assumption 2 (clustered dictionary): mutual coherence, lower is better",
        }[table]
        cols = [k for k in _PUBLISHED_ROWS if k == "original" or k in rows[0]]
        header = ["ρ", *(_PUBLISHED_ROWS[k] for k in cols), _INITIAL]
        md_rows = [
            [str(r["rho"]), *(f"{r[k]:.4f} / {pub[k].get(r['rho'], float('nan')):.4f}" for k in cols), f"{r['initial']:.4f}"]
            for r in rows
        ]
        # the CSV long form (one row per rho and dictionary, with the held-out loss); the Markdown wide
        fields = ["rho", "row", "ours", "published", "heldout_loss"]
        write_table(fields, [["" if rec[f] is None else str(rec[f]) for f in fields] for rec in records], out / f"{table}.csv", None, title="")
        write_table(header, md_rows, None, out / f"{table}.md",
                    title=f"AnomalyNet (Zhou et al.) {table.replace('table', 'Table ')}: {caption}",
                    notes=["Each cell: ours / published. " + _settings_line(cfg)])
    return timing


def _settings_line(cfg: CoherenceConfig) -> str:
    c = asdict(cfg)
    keep = ("n_vectors", "lam", "K", "epochs", "batch_size", "lr", "train_fraction", "seed")
    return "Settings (the paper leaves them open; docs/papers/anomalynet.md): " + ", ".join(
        f"{k} = {c[k]}" for k in keep
    ) + "; Adam; B = W_dᵀ/τ for every solver."


__all__ = [
    "CoherenceConfig",
    "LEARNED",
    "TABLES",
    "clustered_dictionary",
    "coherence_row",
    "coherence_table",
    "low_rank_dictionary",
    "sparse_codes",
    "train_solver",
    "write_coherence_tables",
]
