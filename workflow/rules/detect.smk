# Trained models on new footage: calibrate each model on its normal training videos (also the scale of
# the tables' events_calibrated.* columns, rule calibrated_events), then run it over
# the videos of the configured `detect:` folder (vadflow.detect; `vadflow detect` does the same for one model).


rule calibrate:
    """The model's scores on its normal training videos: the scale detect reports new footage on."""
    wildcard_constraints:
        method=TRAINED_RE,
    input:
        model="work/{dataset}/models/{method}/model.pt",
        frames=train_shard_files,
        features=method_feature_inputs("train"),
    output:
        "work/{dataset}/models/{method}/calibration.json",
    params:
        frames=train_stores,
        features=method_features("train"),
        device=config["device"],
    threads: job_resource("score", "threads")
    resources:
        mem_mb=job_resource("score", "mem_mb"),
        runtime=job_resource("score", "runtime"),
        gpu=job_resource("score", "gpu"),
        gpu_model=job_resource("score", "gpu_model"),
    log:
        "logs/calibrate/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/calibrate/{dataset}/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/calibrate.py"


rule detect_videos:
    """Every video of the `detect:` folder through one trained model."""
    wildcard_constraints:
        method=TRAINED_RE,
    input:
        model="work/{dataset}/models/{method}/model.pt",
        calibration="work/{dataset}/models/{method}/calibration.json",
        videos=detect_sources,
    output:
        "detections/{dataset}/{method}/detections.csv",
    params:
        out=lambda wildcards: f"detections/{wildcards.dataset}/{wildcards.method}",
        detect=lambda wildcards: config.get("detect", {}),
        device=config["device"],
    threads: job_resource("score", "threads")
    resources:
        mem_mb=job_resource("score", "mem_mb"),
        runtime=job_resource("score", "runtime"),
        gpu=job_resource("score", "gpu"),
        gpu_model=job_resource("score", "gpu_model"),
    log:
        "logs/detect/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/detect/{dataset}/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/detect.py"


rule detect:
    """`snakemake detect`: every configured model over the `detect:` videos."""
    input:
        detect_outputs,
