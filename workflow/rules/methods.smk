# Methods: train one configured method on a dataset's training stores, then score its test stores.


rule train:
    """Fit a method (GPU when present); checkpoint and per-epoch loss CSV."""
    input:
        frames=train_stores,
        features=method_feature_inputs("train"),
    output:
        model="work/{dataset}/models/{method}/model.pt",
        losses="work/{dataset}/models/{method}/train_log.csv",
    params:
        method=lambda wildcards: METHODS[wildcards.method],
        features=method_features("train"),
        device=config["device"],
    threads: method_resource("threads", 2)
    resources:
        mem_mb=method_resource("mem_mb", 4000),
        runtime=method_resource("runtime", 60),
        gpu=method_resource("gpu", 0),
    log:
        "logs/train/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/train/{dataset}/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/train.py"


rule score:
    """Score every test frame (and pixel, where the method has maps)."""
    input:
        model="work/{dataset}/models/{method}/model.pt",
        stores=test_stores,
        features=method_feature_inputs("test"),
    output:
        directory("work/{dataset}/scores/{method}.zarr"),
    params:
        features=method_features("test"),
        device=config["device"],
    threads: method_resource("threads", 2)
    resources:
        mem_mb=method_resource("mem_mb", 4000),
        runtime=method_resource("runtime", 60),
        gpu=method_resource("gpu", 0),
    log:
        "logs/score/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/score/{dataset}/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/score.py"
