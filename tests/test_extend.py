"""Train longer without starting again: a finished run keeps its checkpoint (``model.final.pt``:
optimiser and random state included) and a run of the same entry with a larger training length
(``TorchMethod.budget``) continues from it. An extended run equals a run of that length from scratch,
bit for bit on one process, so 1x, 2x and 4x cost 4x in all."""

from __future__ import annotations

import pytest
import torch

from conftest import method_run, train_log_losses
from tiny_methods import TINY, kind_of, make_contract_data
from vadflow.methods.run import final_path, train


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_contract_data(tmp_path_factory.mktemp("extend"))


#: (method, the budget param, its length in the 1x run): epoch mode, iteration mode, two stages, TSC
CASES = [("conv_ae", "epochs", 1), ("srnn_ae", "iterations", 4), ("dissociation_ae", "alternate_epochs", 1),
         ("tsc", "dictionary_iterations", 2)]


def _run(name, field, length):
    inp, params = TINY[name]
    return method_run(name, {**params, field: length}, features=inp.get("features", ()), input=inp)


@pytest.mark.parametrize("name, field, length", CASES)
def test_a_run_extended_to_twice_its_length_equals_one_trained_that_long(name, field, length, data, tmp_path, capfd):
    train_stores, _, train_feats, _ = data[kind_of(name)]
    scratch = train(_run(name, field, 2 * length), train_stores, tmp_path / "scratch" / "model.pt",
                    tmp_path / "scratch" / "log.csv", features=train_feats, device="cpu", threads=1)
    job = tmp_path / "job"
    train(_run(name, field, length), train_stores, job / "model.pt", job / "log.csv", features=train_feats,
          device="cpu", threads=1)
    assert final_path(job / "model.pt").exists()
    capfd.readouterr()
    extended = train(_run(name, field, 2 * length), train_stores, job / "model.pt", job / "log.csv",
                     features=train_feats, device="cpu", threads=1)
    assert f"extending the finished run {final_path(job / 'model.pt')} from {field} {length} to {2 * length}" in \
        capfd.readouterr().err
    a, b = scratch["state"], extended["state"]
    for key in a:
        if isinstance(a[key], dict):
            for k in a[key]:
                assert torch.equal(a[key][k], b[key][k]), (key, k)
        elif isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
    assert train_log_losses(tmp_path / "scratch" / "log.csv") == train_log_losses(job / "log.csv")


def test_a_shorter_or_changed_run_starts_afresh(data, tmp_path, capfd):
    train_stores, _, _, _ = data["frames"]
    train(_run("conv_ae", "epochs", 2), train_stores, tmp_path / "model.pt", None, device="cpu", threads=1)
    capfd.readouterr()
    train(_run("conv_ae", "epochs", 1), train_stores, tmp_path / "model.pt", None, device="cpu", threads=1)
    assert "extending" not in capfd.readouterr().err  # fewer epochs than the finished run: not a continuation
    inp, params = TINY["conv_ae"]
    changed = method_run("conv_ae", {**params, "epochs": 3, "lr": 0.5}, features=(), input=inp)
    train(changed, train_stores, tmp_path / "model.pt", None, device="cpu", threads=1)
    assert "extending" not in capfd.readouterr().err  # another learning rate: another run


def test_the_scale_trend_figure_draws_each_trend_with_its_floors_and_the_papers_line(tmp_path):
    """benchmarks/scale_trend.py --plot: one panel per entry, points with intervals, floors and paper as lines."""
    from vadflow.reporting.figures import scale_trend_figure

    def point(factor, auc, loss):
        return {"factor": factor, "steps": 100 * factor, "train_hours": 0.1 * factor, "final_loss": loss,
                "frame_auc": {"minmax_micro": auc}, "frame_auc_ci": {"minmax_micro": [auc - 0.1, auc + 0.05]}}

    trends = [{"label": name, "dataset": "ped2", "paper": 90.0,
               "floors": {"frame_difference": {"minmax_micro": 0.89}, "mean_frame_distance": {"minmax_micro": 0.83}},
               "points": [point(1, 0.80, 27.4), point(2, 0.78, 23.0), point(4, 0.78, None)]}
              for name in ("Conv-AE", "3D-CAE")]
    scale_trend_figure(trends, tmp_path / "trend.png")
    assert (tmp_path / "trend.png").stat().st_size > 10_000
