"""Config: the embedded default is valid; typos and wrong types are errors that name the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import REPO
from vadflow.config import check_config, load_config, read_config, resolve_method, table_spec
from vadflow.errors import ConfigError


@pytest.fixture
def cfg():
    return read_config(REPO / "config" / "config.yaml")


@pytest.mark.parametrize("name", ["config.yaml", "tiny.yaml"])
def test_shipped_configs_valid(name):
    load_config(REPO / "config" / name)


def test_unknown_top_level_key(cfg):
    cfg["seeed"] = 1
    with pytest.raises(ConfigError, match="seeed") as e:
        check_config(cfg)
    assert "allowed keys" in str(e.value)


def test_unknown_nested_key(cfg):
    cfg["datasets"]["walkway"]["decode"]["colour"] = "gray"
    with pytest.raises(ConfigError, match="datasets.walkway.decode.*colour"):
        check_config(cfg)


def test_wrong_type(cfg):
    cfg["seed"] = "zero"
    with pytest.raises(ConfigError, match="seed"):
        check_config(cfg)


def test_unknown_method_param(cfg):
    cfg["methods"]["conv_ae"]["params"]["epoch"] = 3
    with pytest.raises(ConfigError, match=r"methods.conv_ae.params: unknown key\(s\) \['epoch'\]"):
        check_config(cfg)


def test_wrong_method_param_type(cfg):
    cfg["methods"]["conv_ae"]["params"]["lr"] = "fast"
    with pytest.raises(ConfigError, match="methods.conv_ae.params.lr: expected float"):
        check_config(cfg)


def test_unknown_method_and_generator(cfg):
    bad = copy.deepcopy(cfg)
    bad["methods"]["conv_ae"]["method"] = "conv_aee"
    with pytest.raises(ConfigError, match="unknown method 'conv_aee'"):
        check_config(bad)
    cfg["datasets"]["walkway"]["params"]["heigth"] = 10
    with pytest.raises(ConfigError, match="datasets.walkway.params.*heigth"):
        check_config(cfg)


def test_table_names_unknown_dataset(cfg):
    cfg["reports"]["table3"]["datasets"].append("ped2")
    with pytest.raises(ConfigError, match="reports.table3.datasets names 'ped2'"):
        check_config(cfg)


def test_generic_dataset_needs_root(cfg):
    cfg["datasets"]["mine"] = {"adapter": "generic"}
    with pytest.raises(ConfigError, match="datasets.mine needs `root`"):
        check_config(cfg)


def test_variants_merge_with_base(cfg):
    cfg["methods"]["conv_ae_adam"] = {"base": "conv_ae", "params": {"optimizer": "adam", "lr": 0.001}}
    check_config(cfg)
    r = resolve_method(cfg, "conv_ae_adam")
    assert r.method == "conv_ae" and r.params.optimizer == "adam"
    assert r.params.channels == (64, 32, 16)  # inherited from the base entry
    assert r.label.endswith("(conv_ae_adam)")


def test_variant_loop(cfg):
    cfg["methods"]["a"] = {"base": "b"}
    cfg["methods"]["b"] = {"base": "a"}
    with pytest.raises(ConfigError, match="loops"):
        check_config(cfg)


def test_table_spec(cfg):
    assert table_spec(cfg, "table3") == (
        ["walkway", "digits_appearance", "digits_motion"],
        ["frame_difference", "mean_frame_distance", "conv_ae", "tsc", "srnn_ae", "anomalynet", "adv3d_cae",
         "dissociation_ae", "lad_multitask", "deepmil"]
    )


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.yaml")


def test_command_line_strings_parsed_by_schema_type(cfg):
    """Snakemake passes nested --config values as strings; the schema's types decide."""
    cfg["seed"] = "3"
    cfg["datasets"]["walkway"]["decode"]["chunk_frames"] = "4"
    cfg["datasets"]["walkway"]["root"] = "123"  # a string field stays a string
    cfg["datasets"]["walkway"]["adapter"] = "synthetic"
    check_config(cfg)
    assert cfg["seed"] == 3 and cfg["datasets"]["walkway"]["decode"]["chunk_frames"] == 4
    assert cfg["datasets"]["walkway"]["root"] == "123"


def test_method_features_must_be_configured(cfg):
    cfg["methods"]["conv_ae"]["input"]["features"] = ["effnet_sp"]
    with pytest.raises(ConfigError, match="input.features names 'effnet_sp'"):
        check_config(cfg)
    cfg["methods"]["conv_ae"]["input"]["features"] = ["effnet_spp"]
    check_config(cfg)


def test_paper_figures_and_swaps_must_name_configured_entries(cfg):
    cfg["reports"]["srnn_table1"]["paper"] = {"srnn_ae": {"walkway": 50.0}}  # outside the table: ignored
    check_config(cfg)
    cfg["reports"]["srnn_table1"]["paper"]["srnn_ae"]["ped2"] = 50.0
    with pytest.raises(ConfigError, match="reports.srnn_table1.paper names"):
        check_config(cfg)
    del cfg["reports"]["srnn_table1"]["paper"]["srnn_ae"]["ped2"]
    cfg["reports"]["table3"]["use"]["digits_motion"]["tsc"] = "tsc_rawx"
    with pytest.raises(ConfigError, match="reports.table3.use.digits_motion.tsc names 'tsc_rawx'"):
        check_config(cfg)


def test_table_cells_swap_entries(cfg):
    from vadflow.config import table_cells

    cells = table_cells(cfg, "table3")
    assert ("walkway", "srnn_ae", "srnn_ae") in cells
    assert ("digits_motion", "srnn_ae", "srnn_ae_raw") in cells and ("digits_motion", "conv_ae", "conv_ae") in cells
    assert len(cells) == 20  # 5 x 3 (the two floors, Conv-AE, TSC, sRNN-AE), and AnomalyNet, the 3D AE, Chang et al., the LAD network and DeepMIL on the
    # walkway only (null digits cells)


def test_paper_table_needs_output(cfg):
    del cfg["reports"]["srnn_table1"]["output"]
    with pytest.raises(ConfigError, match="output"):
        check_config(cfg)


def test_includes_merge_with_the_including_file_winning(tmp_path):
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "p.yaml").write_text(
        "methods:\n  a: {method: conv_ae, params: {epochs: 3}}\n  b: {method: conv_ae}\n"
        "reports:\n  t: {output: reports/p/t.csv, title: T, datasets: [d], methods: [a, b]}\n"
    )
    (tmp_path / "main.yaml").write_text(
        "include: [papers/p.yaml]\n"
        "datasets: {d: {adapter: generic, root: /data}}\n"
        "methods:\n  a: {method: conv_ae, params: {lr: 0.1}}\n"
        "reports: {table3: {}}\n"
    )
    sources: dict = {}
    cfg = read_config(tmp_path / "main.yaml", sources)
    check_config(cfg)
    assert "include" not in cfg and set(cfg["reports"]) == {"t", "table3"}
    assert cfg["methods"]["a"]["params"] == {"epochs": 3, "lr": 0.1}  # merged, the main file wins
    assert sources["methods.b"] == [str(tmp_path / "papers" / "p.yaml")]
    assert sources["methods.a"] == [str(tmp_path / "main.yaml"), str(tmp_path / "papers" / "p.yaml")]
    assert sources["datasets.d"] == [str(tmp_path / "main.yaml")]


def test_include_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("include: [missing.yaml]\n")
    with pytest.raises(ConfigError, match="include: missing.yaml was not found"):
        read_config(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("include: [c.yaml]\n")
    (tmp_path / "c.yaml").write_text("include: [c.yaml]\n")
    with pytest.raises(ConfigError, match="includes itself"):
        read_config(tmp_path / "b.yaml")


def test_shipped_default_includes_the_srnn_tables():
    cfg = load_config(REPO / "config" / "config.yaml")
    assert "srnn_table7" in cfg["reports"] and "srnn_ae_late" in cfg["methods"] and "table3" in cfg["reports"]


def test_a_table_names_published_figures_on_file(cfg):
    cfg["reports"]["srnn_table3"]["published"] = "srnn/table33"
    with pytest.raises(ConfigError, match="has no table 'table33'"):
        check_config(cfg)
    cfg["reports"]["srnn_table3"]["published"] = "sun/table3"
    with pytest.raises(ConfigError, match="no published figures on file for paper 'sun'"):
        check_config(cfg)


#: every top-level config: the embedded default, tiny, paper, and the CPU configs grouped by dataset
#: (config/cpu/<dataset>/<paper>.yaml); default/, papers/ and common/ hold files they include
TOP_LEVEL = sorted([p.name for p in (REPO / "config").glob("*.yaml") if not p.is_symlink()]
                   + [str(p.relative_to(REPO / "config")) for p in (REPO / "config" / "cpu").rglob("*.yaml")])


def test_the_cpu_configs_are_grouped_by_dataset():
    assert {"cpu/ped2/conv_ae.yaml", "cpu/ped2/srnn.yaml", "cpu/ped2/lad.yaml"} <= set(TOP_LEVEL)
    assert not [n for n in TOP_LEVEL if n.startswith("ped2_")]


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_every_shipped_config_file_validates(name):
    """Each top-level config a README or docs command names (with its includes) passes the checks."""
    load_config(REPO / "config" / name)


@pytest.mark.parametrize("method, key, value", [("adv3d_cae", "epochs", -3), ("conv_ae", "epochs", 0),
                                                ("srnn_ae", "iterations", 0), ("conv_ae", "batch_size", 0),
                                                ("dissociation_ae", "lr", -1.0)])
def test_training_lengths_and_rates_are_range_checked_with_the_config(cfg, method, key, value):
    """Before any job runs, not in the training job after decode and features (issue 31)."""
    cfg["methods"][method].setdefault("params", {})[key] = value
    with pytest.raises(ConfigError, match=f"methods.{method}[a-z0-9_]*.params.{key} must"):
        check_config(cfg)


def test_paths_beside_the_root_expand_environment_variables(tmp_path, monkeypatch):
    """${VAR} in an adapter option or a split list is expanded as in a root; an unset one is an error
    naming the key (not a literal '${...}' path in a failing job), unless the dataset is left out anyway."""
    from vadflow.config import missing_checkpoint

    monkeypatch.setenv("AVENUE_ROOT", str(tmp_path))
    monkeypatch.setenv("AVENUE_MASKS", str(tmp_path / "masks"))
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    cfg = {"datasets": {"avenue": {"adapter": "avenue", "root": "${AVENUE_ROOT}",
                                   "options": {"masks_dir": "${AVENUE_MASKS}/labels"}},
                        "gone": {"adapter": "avenue", "root": "${NOT_SET_ANYWHERE}",
                                 "options": {"masks_dir": "${NOT_SET_ANYWHERE}/x"}}},
           "methods": {"conv_ae": {"method": "conv_ae"}},
           "features": {"r50": {"kind": "frame", "backbone": "resnet50", "weights": "${NOT_SET_ANYWHERE}/r50.pth"}},
           "reports": {"table3": {}}}
    check_config(cfg)
    assert cfg["datasets"]["avenue"]["options"]["masks_dir"] == f"{tmp_path}/masks/labels"
    assert cfg["datasets"]["gone"]["options"]["masks_dir"] == "${NOT_SET_ANYWHERE}/x"  # left out: not checked
    cfg["methods"]["r50_entry"] = {"method": "tsc", "input": {"features": ["r50"]}}
    assert "names NOT_SET_ANYWHERE, which is not set" in missing_checkpoint(cfg, "r50_entry")
    monkeypatch.delenv("AVENUE_MASKS")
    cfg["datasets"]["avenue"]["options"]["masks_dir"] = "${AVENUE_MASKS}/labels"
    with pytest.raises(ConfigError, match=r"datasets.avenue.options.masks_dir is '\$\{AVENUE_MASKS\}/labels'.*AVENUE_MASKS"):
        check_config(cfg)
