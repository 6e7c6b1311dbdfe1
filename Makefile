# The two commands a newcomer needs:  make demo  (run the main job)  /  make test
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test minio lint bench clean-demo

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# Builds the pinned MinIO with `go install` into .tools/bin the first time (a few minutes).
minio: $(STAMP)
	@$(BIN)/python -c "from infra.minio_server import minio_binary; print('MinIO:', minio_binary())"

# Main job: start the embedded MinIO, simulate a small night, ingest it, query it.
demo: minio
	$(BIN)/oods up
	$(BIN)/oods simulate --out .oods/night --detectors 9 --exposures 10
	$(BIN)/oods ingest .oods/night
	$(BIN)/oods query "SELECT e.observation_type, e.physical_filter, count(DISTINCT e.exposure) AS exposures, count(*) AS raws FROM datasets d JOIN exposures e USING (instrument, exposure) GROUP BY ALL ORDER BY 1, 2"
	@echo "MinIO keeps running for the tour (README); stop it with: $(BIN)/oods down"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: minio lint
	$(BIN)/pytest -q

bench: minio
	$(BIN)/python tests/bench/ingest.py

clean-demo:
	-$(BIN)/oods down
	rm -rf .oods
