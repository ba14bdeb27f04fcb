# Evaluation: frame AUC (three conventions), EER and pixel-level AUC per (dataset, method).


rule evaluate:
    input:
        scores="work/{dataset}/scores/{method}.zarr",
        stores=test_shard_files,
    output:
        "results/{dataset}/{method}.json",
    params:
        stores=test_stores,
        evaluation=config["evaluation"],
        split=lambda wildcards: split_description(wildcards.dataset),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    log:
        "logs/evaluate/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/evaluate/{dataset}/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate.py"


rule calibrated_events:
    """Events on the model's scale on its normal training videos (threshold 1), for tables that show them
    beside the papers' min-max ones: a rule of its own, so table3 never waits for a calibration."""
    wildcard_constraints:
        method=TRAINED_RE,
    input:
        scores="work/{dataset}/scores/{method}.zarr",
        stores=test_shard_files,
        calibration="work/{dataset}/models/{method}/calibration.json",
    output:
        "results/{dataset}/calibrated/{method}.json",
    params:
        stores=test_stores,
        events=config["evaluation"].get("events"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/evaluate/{dataset}/{method}.calibrated.log",
    benchmark:
        "logs/benchmarks/evaluate/{dataset}/{method}.calibrated.tsv"
    conda:
        ENV
    script:
        "../scripts/calibrated_events.py"


rule seed_summary:
    """An entry trained with several seeds (seeds:): every seed's figures, their mean and standard deviation."""
    input:
        lambda wildcards: [f"results/{wildcards.dataset}/{m}.json" for m in seed_runs(config, wildcards.method)],
    output:
        "results/{dataset}/seeds/{method}.json",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/evaluate/{dataset}/{method}.seeds.log",
    benchmark:
        "logs/benchmarks/evaluate/{dataset}/{method}.seeds.tsv"
    conda:
        ENV
    script:
        "../scripts/seed_summary.py"
