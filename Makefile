# Tailor: set-up, demo, tests, benchmarks. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CONF   ?= conf/local.yaml
RUN_DATE ?= $(shell date -u +%F)
PYTEST_ARGS ?=

.PHONY: setup jars cds dist demo pipeline test test-cluster test-fast lint bench clean-warehouse

setup: $(VENV)/.installed jars cds

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

# A class-data-sharing archive (JDK 13+) of the classes a Tailor driver loads, dumped at the exit of one ingest
# of a tiny shop: a driver started with -XX:SharedArchiveFile=.jars/driver.jsa maps them instead of loading and
# verifying each one. Local sessions (tailor, the demo, the tests) use it when it exists; give it to spark-submit
# as the README shows. A short job's driver takes about a quarter less time. Optional: without the archive, or
# with a JDK other than the one that wrote it, a driver starts as before.
cds: .jars/driver.jsa

.jars/driver.jsa: $(VENV)/.installed .jars/.done
	@jars=$$($(PY) -c "from tailor.spark import delta_jars; print(','.join(delta_jars('.jars')))"); \
	if [ -z "$$jars" ]; then echo "no Delta jars in .jars: no class archive"; exit 0; fi; \
	tmp=$$(mktemp -d) && \
	SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$(CURDIR)/$(PY) PYSPARK_DRIVER_PYTHON=$(CURDIR)/$(PY) \
	TAILOR_PSEUDONYM_KEY=class-archive-run-only-$$$$-$$(date +%s%N) \
	$(VENV)/bin/spark-submit --master 'local[2]' --conf spark.ui.enabled=false \
	  --conf "spark.driver.extraJavaOptions=-XX:+UseParallelGC -XX:ArchiveClassesAtExit=$$tmp/driver.jsa" \
	  --jars "$$jars" jobs/ingest.py --conf $(CONF) --set warehouse=$$tmp/wh --set synthetic.users=50 \
	  --set synthetic.items=20 --set synthetic.days=30 --set spark.shuffle_partitions=2 \
	  --run-date 2026-11-23 >$$tmp/log 2>&1 \
	  && [ -s $$tmp/driver.jsa ] && mv $$tmp/driver.jsa $@ \
	  || echo "could not write a class archive (see the ingest log below): drivers start without one"; \
	[ -f $@ ] || tail -5 $$tmp/log; rm -rf $$tmp

# What spark-submit ships to executors: dist/tailor-<version>-py3-none-any.whl (pip install on a cluster's
# nodes, or a Databricks library) and dist/tailor.zip, the same files for --py-files.
dist: setup
	rm -rf dist build
	$(PY) -m pip wheel --quiet --no-deps -w dist .
	cp dist/tailor-*-py3-none-any.whl dist/tailor.zip
	@ls -l dist

# The demo runs over conf/demo.yaml: interpreted expressions and smaller model searches (DEMO_CONF= for none).
DEMO_CONF ?= conf/demo.yaml
demo: setup
	$(VENV)/bin/tailor demo --conf $(CONF) $(if $(DEMO_CONF),--conf $(DEMO_CONF)) --run-date $(RUN_DATE)

# Every daily job in dependency order, in one local driver (spark-submit jobs/pipeline.py runs the same).
pipeline: setup
	$(VENV)/bin/tailor pipeline --conf $(CONF) --run-date $(RUN_DATE)

# Two pytest workers (pytest-xdist), each with its own local Spark session; a test file stays on one worker,
# so module fixtures are built once. Two are enough on 2 cores: one small-shop session alone keeps them about
# 90 % busy (planning, the JIT compiler, tasks), and the two pipeline-shape tests side by side 98 %.
XDIST ?= -n 2 --dist loadfile
# every run lists its slowest tests, so that a CI log says where the suite's time goes
DURATIONS ?= --durations=25

test: setup
	$(PY) -m pytest $(XDIST) $(DURATIONS) -m "not cluster" $(PYTEST_ARGS)

# The standalone-cluster and fault tests (tests/test_cluster.py): a second CI step after `make test`, kept
# apart so that the main suite stays within its time budget. TAILOR_CLUSTER_SHOP=S runs them on the S shop.
test-cluster: setup
	$(PY) -m pytest -m cluster -s $(DURATIONS) $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest $(XDIST) -m "not slow and not cluster" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check lib jobs tests benchmarks

bench: setup
	@if [ -f benchmarks/run.py ]; then $(PY) -m benchmarks.run; else echo "no benchmarks yet (issue 13)"; fi

clean-warehouse:
	rm -rf warehouse
