# vadflow: video decode -> Zarr frame stores -> per-method training -> scoring
# -> evaluation -> tables and figures. Every paper table is a target, e.g.
#   snakemake reports/table3.csv --cores all
# The embedded default config (synthetic data) is config/config.yaml;
# pass --configfile to run on your own datasets.

from snakemake.utils import min_version

min_version("9.0")


# A --configfile replaces the embedded default instead of merging into it (a user's datasets,
# methods and tables are exactly those of their file); --config alone edits the default.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/methods.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/detect.smk"


rule all:
    """Table 3, the fidelity page, the cost of its jobs and the settings: what `snakemake --report
    reports/report.html` shows by default (give targets to add papers: `snakemake reports/table3.csv lad --report
    reports/report.html`)."""
    default_target: True
    input:
        "reports/table3.csv",
        "reports/fidelity.md",
        "reports/costs.csv",
        "reports/settings.html",
