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

# Where the embedded default keeps its state ($OODS_HOME if set, as `oods` itself does).
OODS_HOME ?= .oods
export OODS_HOME

# Main job: start the embedded MinIO, simulate a small night, ingest it, query it.
# The night is the README tour's (same options, same bytes): the tour's ingests skip it.
demo: minio
	$(BIN)/oods up
	$(BIN)/oods simulate --out "$(OODS_HOME)/night"
	$(BIN)/oods ingest "$(OODS_HOME)/night"
	$(BIN)/oods query "SELECT e.observation_type, e.physical_filter, count(DISTINCT e.exposure) AS exposures, count(*) AS raws FROM datasets d JOIN exposures e USING (instrument, exposure) GROUP BY ALL ORDER BY 1, 2"
	@echo "MinIO keeps running for the tour (README); stop it with: $(BIN)/oods down"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: minio lint
	$(BIN)/pytest -q

bench: minio
	$(BIN)/python tests/bench/ingest.py

# Stops the embedded MinIO and removes what the demo made (not the rest of $OODS_HOME).
clean-demo:
	-$(BIN)/oods down
	rm -rf "$(OODS_HOME)/night" "$(OODS_HOME)/data" "$(OODS_HOME)/server.json" \
		"$(OODS_HOME)/data.server.json" "$(OODS_HOME)/data.minio.log"
	rmdir "$(OODS_HOME)" 2>/dev/null || true
