# The two commands of the quickstart. Both set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= all

.PHONY: table3 report test lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## make table3: run the whole workflow on the embedded default (synthetic data) -> reports/table3.csv
table3: $(VENV)/.installed
	$(BIN)/snakemake reports/table3.csv --cores $(CORES)

## make report: what make table3 builds, the cost of its jobs and the settings, and the HTML report of them all
report: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report reports/report.html

## make test: the test suite (unit tests and end-to-end runs on a tiny config)
test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/decode_throughput.py
	$(BIN)/python benchmarks/feature_throughput.py
	$(BIN)/python benchmarks/clip_loader.py
	$(BIN)/python benchmarks/srnn_speed.py

clean:
	rm -rf .snakemake data work results logs reports/figures reports/table*.csv reports/table*.md
