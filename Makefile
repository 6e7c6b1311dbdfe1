# The two commands a newcomer needs:  make demo  (run the main job)  /  make test
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test minio lint bench clean-demo chromium

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

# Main job, the live path: the embedded MinIO and `oods serve` on a landing folder; the
# simulated camera writes a night into it, a full focal plane every DEMO_PACE seconds
# (LSSTCam takes one every ~17 s); once landing is empty the service is stopped (SIGTERM:
# it finishes its batch and exits 0), then the night is queried and the arrival-to-
# queryable latency printed. The night is the README tour's with every detector (same
# options, same bytes): the tour's ingests skip it. Smaller: make demo DEMO_DETECTORS=9
DEMO_DETECTORS ?= 205
DEMO_EXPOSURES ?= 10
DEMO_PACE ?= 3
LANDING = $(OODS_HOME)/landing

demo: minio
	$(BIN)/oods up
	@set -euo pipefail; mkdir -p "$(LANDING)"; since=$$(date -u +%Y-%m-%dT%H:%M:%S.%N); \
	echo "$(BIN)/oods serve --landing $(LANDING) --no-metrics 2> $(OODS_HOME)/serve.log &"; \
	$(BIN)/oods serve --landing "$(LANDING)" --no-metrics 2> "$(OODS_HOME)/serve.log" & \
	serve=$$!; trap 'kill -TERM $$serve 2>/dev/null && wait $$serve; \
		echo "oods serve log: $(OODS_HOME)/serve.log" >&2' EXIT; \
	for _ in $$(seq 300); do \
		grep -q "serving " "$(OODS_HOME)/serve.log" && break; kill -0 $$serve; sleep 0.1; done; \
	echo "$(BIN)/oods simulate --out $(LANDING) --pace $(DEMO_PACE) --detectors $(DEMO_DETECTORS)"; \
	$(BIN)/oods simulate --out "$(LANDING)" --pace $(DEMO_PACE) \
		--detectors $(DEMO_DETECTORS) --exposures $(DEMO_EXPOSURES); \
	for _ in $$(seq 600); do \
		[ -z "$$(find "$(LANDING)" -type f)" ] && break; kill -0 $$serve; sleep 0.2; done; \
	kill -TERM $$serve; wait $$serve; trap - EXIT; \
	$(BIN)/oods query "SELECT e.observation_type, e.physical_filter, \
		count(DISTINCT e.exposure) AS exposures, count(*) AS raws FROM datasets d \
		JOIN exposures e USING (instrument, exposure) GROUP BY ALL ORDER BY 1, 2"; \
	echo "$(BIN)/oods arrivals --since $$since"; \
	$(BIN)/oods arrivals --since "$$since"
	@echo "MinIO keeps running for the tour (README); stop it with: $(BIN)/oods down"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The status page's tests (tests/web) drive headless Chromium: Debian's package, once.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		apt-get install -y -qq --no-install-recommends chromium; }

test: minio lint chromium
	$(BIN)/pytest -q

bench: minio
	$(BIN)/python tests/bench/ingest.py

# Stops the embedded MinIO and removes what the demo made (not the rest of $OODS_HOME).
clean-demo:
	-$(BIN)/oods down
	rm -rf "$(OODS_HOME)/night" "$(OODS_HOME)/landing" "$(OODS_HOME)/failed" \
		"$(OODS_HOME)/serve.log" "$(OODS_HOME)/data" "$(OODS_HOME)/server.json" \
		"$(OODS_HOME)/data.server.json" "$(OODS_HOME)/data.minio.log"
	rmdir "$(OODS_HOME)" 2>/dev/null || true
