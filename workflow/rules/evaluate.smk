# Evaluation: frame AUC (three conventions), EER and pixel-level AUC per (dataset, method).


rule evaluate:
    input:
        scores="work/{dataset}/scores/{method}.zarr",
        stores=test_shard_files,
        calibration=calibration_input,
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
