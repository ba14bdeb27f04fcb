# Reports: figures per dataset and the paper tables.


rule roc_figure:
    """ROC curves of the dataset's methods: a figure, and the curves as data (method,fpr,tpr) for `dvc plots`."""
    input:
        lambda wildcards: [f"results/{wildcards.dataset}/{m}.json" for m in figure_methods(wildcards.dataset)],
    output:
        png=report("reports/figures/{dataset}/roc.png", caption="../report/roc.rst", category="Figures",
                   subcategory="{dataset}"),
        csv="reports/figures/{dataset}/roc.csv",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "logs/figures/{dataset}/roc.log",
    benchmark:
        "logs/benchmarks/figures/{dataset}/roc.tsv"
    conda:
        ENV
    script:
        "../scripts/roc_figure.py"


rule timeline_figures:
    """One figure per test video: every method's score over time, ground truth shaded."""
    input:
        scores=lambda wildcards: [
            f"work/{wildcards.dataset}/scores/{m}.zarr" for m in figure_methods(wildcards.dataset)
        ],
        stores=test_shard_files,
    output:
        report(directory("reports/figures/{dataset}/timelines"), patterns=["{video}.png"],
               caption="../report/timeline.rst", category="Figures", subcategory="{dataset}: score over time"),
    params:
        stores=test_stores,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/figures/{dataset}/timelines.log",
    benchmark:
        "logs/benchmarks/figures/{dataset}/timelines.tsv"
    conda:
        ENV
    script:
        "../scripts/timeline_figures.py"


rule table3:
    """Frame-level AUC of every method on every dataset (Table 3 of Luo et al.; a table in every paper)."""
    input:
        results=table_results("table3"),
        seeds=table_seeds("table3"),
        figures=table_figures("table3"),
    output:
        csv="reports/table3.csv",
        md="reports/table3.md",
        html=report("reports/table3.html", caption="../report/table3.rst", category="Table 3: every method"),
    params:
        datasets=table_spec(config, "table3")[0],
        methods=table_spec(config, "table3")[1],
        use=config["reports"].get("table3", {}).get("use", {}),
        convention=config["evaluation"]["convention"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "logs/reports/table3.log",
    benchmark:
        "logs/benchmarks/reports/table3.tsv"
    conda:
        ENV
    script:
        "../scripts/table3.py"


rule fidelity:
    """Per paper, our figures on the run's real datasets beside the published ones: the gap, the scale, the floor."""
    input:
        fidelity_inputs(config),
    output:
        md="reports/fidelity.md",
        html=report("reports/fidelity.html", caption="../report/fidelity.rst", category="Fidelity"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/reports/fidelity.log",
    benchmark:
        "logs/benchmarks/reports/fidelity.tsv"
    conda:
        ENV
    script:
        "../scripts/fidelity.py"


for _table, _spec in config.get("reports", {}).items():
    if _table == "table3" or _spec.get("kind") == "splits":
        continue

    rule:
        """A paper's table (e.g. reports/srnn/table1.csv): ours beside the published figures."""
        name:
            f"report_{_table}"
        input:
            results=table_results(_table),
            seeds=table_seeds(_table),
            calibrated=table_calibrated(_table),
            **({"published": published_file(_spec["published"])} if _spec.get("published") else {}),
        output:
            csv=_spec["output"],
            md=_spec["output"].removesuffix(".csv") + ".md",
            html=report(_spec["output"].removesuffix(".csv") + ".html", caption="../report/paper_table.rst",
                        category=report_category(_spec["output"]), subcategory=_table),
            **({"png": report(_spec["output"].removesuffix(".csv") + ".png", caption="../report/paper_figure.rst",
                              category=report_category(_spec["output"]), subcategory=_table)}
               if _spec.get("plot") else {}),
        params:
            spec={
                **_spec,
                "datasets": table_spec(config, _table)[0],
                "not_run": blocked_rows(config, _table),
                "labels": {m: resolve_method(config, m).label for m in table_spec(config, _table)[1]},
            },
            datasets=config["datasets"],
            convention=_spec.get("convention", config["evaluation"]["convention"]),
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        log:
            f"logs/reports/{_table}.log",
        benchmark:
            f"logs/benchmarks/reports/{_table}.tsv"
        conda:
            ENV
        script:
            "../scripts/paper_table.py"


for _table, _spec in config.get("reports", {}).items():
    if _spec.get("kind") != "splits":
        continue

    rule:
        """A table of the training and test videos each row's supervision admits (Wan et al. Table 2)."""
        name:
            f"report_{_table}"
        input:
            manifests=[f"work/{d}/manifest.json" for d in table_spec(config, _table)[0]],
            **({"published": published_file(_spec["published"])} if _spec.get("published") else {}),
        output:
            csv=_spec["output"],
            md=_spec["output"].removesuffix(".csv") + ".md",
            html=report(_spec["output"].removesuffix(".csv") + ".html", caption="../report/split_table.rst",
                        category=report_category(_spec["output"]), subcategory=_table),
        params:
            spec={
                **_spec,
                "datasets": table_spec(config, _table)[0],
                "labels": {m: resolve_method(config, m).label for m in table_spec(config, _table)[1]},
            },
            regimes={m: resolve_method(config, m).supervision.value for m in table_spec(config, _table)[1]},
            datasets=config["datasets"],
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        log:
            f"logs/reports/{_table}.log",
        benchmark:
            f"logs/benchmarks/reports/{_table}.tsv"
        conda:
            ENV
        script:
            "../scripts/split_table.py"


# One target per paper, e.g. `snakemake lad --cores all`: every table and figure of it that config lists.
# srnn: Luo et al. (TSC / sRNN-AE); adv3d: Sun et al.; dissociation: Chang et al.; lad: Wan et al. and DeepMIL.
for _paper in ("srnn", "adv3d", "dissociation", "lad"):

    rule:
        name:
            _paper
        input:
            paper_outputs(_paper),


rule anomalynet:
    """Every table of Zhou et al. (AnomalyNet): Tables 1-2 (synthetic) and the tables configured under
    reports with outputs under reports/anomalynet/."""
    input:
        "reports/anomalynet/table1.csv",
        paper_outputs("anomalynet"),


rule anomalynet_coherence:
    """Tables 1-2 of Zhou et al. (AnomalyNet): mutual coherence of the dictionaries LISTA, LFISTA and
    SLSTM learn on synthetic data, beside the published figures (vadflow.methods.anomalynet.coherence;
    no dataset needed, ~2 minutes on one core)."""
    input:
        published=published_file("anomalynet/table1"),
    output:
        csv1="reports/anomalynet/table1.csv",
        md1="reports/anomalynet/table1.md",
        html1=report("reports/anomalynet/table1.html", caption="../report/paper_table.rst",
                     category=report_category("reports/anomalynet/table1.csv"), subcategory="table1"),
        csv2="reports/anomalynet/table2.csv",
        md2="reports/anomalynet/table2.md",
        html2=report("reports/anomalynet/table2.html", caption="../report/paper_table.rst",
                     category=report_category("reports/anomalynet/table2.csv"), subcategory="table2"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        "logs/reports/anomalynet_coherence.log",
    benchmark:
        "logs/benchmarks/reports/anomalynet_coherence.tsv"
    conda:
        ENV
    params:
        python=sys.executable,  # the workflow's interpreter: `vadflow` need not be on PATH
    shell:
        "OMP_NUM_THREADS=1 {params.python} -m vadflow.cli coherence-tables --out reports/anomalynet --threads 1 > {log} 2>&1"


rule report_costs:
    """Where the time and memory went: every job's Snakemake benchmark (logs/benchmarks), per rule."""
    input:
        rules.table3.output.csv,
    output:
        csv="reports/costs.csv",
        md="reports/costs.md",
        html=report("reports/costs.html", caption="../report/costs.rst", category="Cost"),
    params:
        root="logs/benchmarks",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        "logs/reports/costs.log",
    conda:
        ENV
    script:
        "../scripts/costs.py"


rule report_settings:
    """The configuration this run used (every dataset, method, feature spec and table), for the report."""
    output:
        report("reports/settings.html", caption="../report/settings.rst", category="Settings"),
    params:
        config=config,
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        "logs/reports/settings.log",
    conda:
        ENV
    script:
        "../scripts/settings.py"
