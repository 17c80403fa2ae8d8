# Tailor: set-up, demo, tests, benchmarks. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CONF   ?= conf/local.yaml
RUN_DATE ?= $(shell date -u +%F)
PYTEST_ARGS ?=

.PHONY: setup jars dist demo pipeline test test-cluster test-fast lint bench clean-warehouse

setup: $(VENV)/.installed jars

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The Delta Lake jars, copied by Maven into .jars/ so that Spark starts with no download.
# Without mvn, Spark's Ivy downloads them from Maven Central at the first start instead.
jars: .jars/.done

.jars/.done: jars/pom.xml
	@if command -v mvn >/dev/null 2>&1; then \
	  mvn -q -B -f jars/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
	      -DoutputDirectory=$(CURDIR)/.jars && touch $@; \
	else \
	  echo "mvn not found: Spark's Ivy will download the Delta jars at the first start"; \
	fi

# What spark-submit ships to executors: dist/tailor-<version>-py3-none-any.whl (pip install on a cluster's
# nodes, or a Databricks library) and dist/tailor.zip, the same files for --py-files.
dist: setup
	rm -rf dist build
	$(PY) -m pip wheel --quiet --no-deps -w dist .
	cp dist/tailor-*-py3-none-any.whl dist/tailor.zip
	@ls -l dist

demo: setup
	$(VENV)/bin/tailor demo --conf $(CONF) --run-date $(RUN_DATE)

# Every daily job in dependency order, in one local driver (spark-submit jobs/pipeline.py runs the same).
pipeline: setup
	$(VENV)/bin/tailor pipeline --conf $(CONF) --run-date $(RUN_DATE)

# Two pytest workers (pytest-xdist), each with its own local Spark session; a test file stays on one worker,
# so module fixtures are built once. Spark on small data waits on the driver as much as on the cores.
XDIST ?= -n 2 --dist loadfile

test: setup
	$(PY) -m pytest $(XDIST) -m "not cluster" $(PYTEST_ARGS)

# The standalone-cluster and fault tests (tests/test_cluster.py): a second CI step after `make test`, kept
# apart so that the main suite stays within its time budget. TAILOR_CLUSTER_SHOP=S runs them on the S shop.
test-cluster: setup
	$(PY) -m pytest -m cluster -s $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest $(XDIST) -m "not slow and not cluster" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check lib jobs tests benchmarks

bench: setup
	@if [ -f benchmarks/run.py ]; then $(PY) -m benchmarks.run; else echo "no benchmarks yet (issue 13)"; fi

clean-warehouse:
	rm -rf warehouse
