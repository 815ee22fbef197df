# newsflow: `make run` and `make test` do all the set-up on a fresh machine with Python 3.11+.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit integration install services kafka schemas bench eval clean train-ner chaos soak

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newsflow needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,eval]'
	touch $(STAMP)

install: $(STAMP)

# What the tests use besides the brokers they start themselves, from Debian's packages: PostgreSQL, started,
# with the tests' database `test`; kcat, docker-compose, Java and Maven; Prometheus and Chromium (deploy/ci/tools.sh)
# (needs root; .ci/run calls it).
# Without them those tests skip, and fail under CI.
services:
	bash deploy/ci/postgres.sh
	bash deploy/ci/tools.sh

# Apache Kafka's jars from Maven Central (deploy/kafka/pom.xml), cached in ~/.cache/newsflow; the first `run`,
# `broker kafka` or Kafka test does the same on its own.
kafka: $(STAMP)
	$(BIN)/python -c 'from pipeline.brokers.kafka import classpath; print("Kafka jars in", classpath(say=print))'

# LOCAL_BROKER=kafka|embedded|auto (default auto: a local Apache Kafka where Java 17+ is installed)
LOCAL_BROKER ?=
run: $(STAMP)
	$(BIN)/newsflow run $(if $(LOCAL_BROKER),--local-broker $(LOCAL_BROKER)) $(ARGS)

# NEWSFLOW_TEST_BROKER=kafka|tansu picks the integration tests' broker (default: kafka where Java 17+ is installed)
test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration" $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/python -m pytest -q -m integration $(PYTEST_ARGS)

# Fault tests (issues 8, 17): worker kill -9 (both delivery modes), rebalances, broker kill -9 / 60 s stop / SIGSTOP
# on a local 3-node Kafka, the decision invariant through a replay, a 10,000-input fuzz. About 30 minutes;
# `make test` leaves them out (tests/chaos/conftest.py) and CI runs them after it (.ci/run). Figures are
# appended to .newsflow/chaos-results.txt.
chaos: $(STAMP)
	mkdir -p .newsflow
	$(BIN)/python -m pytest -q -s -m chaos --basetemp .newsflow/chaos-tmp $(PYTEST_ARGS)

# Soak benchmark (not in CI): 30 minutes at 80% of the measured max rate, RSS and lag every minute.
soak: $(STAMP)
	$(BIN)/newsflow soak $(ARGS)

schemas: $(STAMP)
	$(BIN)/newsflow schemas export

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench,quix]'
	$(BIN)/newsflow bench $(ARGS)

eval: $(STAMP)
	$(BIN)/newsflow eval dedup
	$(BIN)/newsflow eval typos
	$(BIN)/newsflow eval extraction
	$(BIN)/newsflow eval entities
	$(BIN)/newsflow eval enrich

clean:
	rm -rf $(VENV) .newsflow .pytest_cache

# Issues #5, #19: the shipped NER model (pipeline/models/ner-news), reproducible from CoNLL-2003 and
# ner-extra in ../shared/eval
NER_DATA ?= ../shared/eval
train-ner: $(STAMP)
	$(BIN)/python training/ner/prepare.py --data $(NER_DATA) --out training/ner/corpus --extra $(NER_DATA)/ner-extra
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice $(BIN)/python -m spacy train training/ner/config.cfg --output training/ner/output
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice $(BIN)/python -m spacy train training/ner/config-stage2.cfg --output training/ner/output/stage2 --paths.base training/ner/output/model-best
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice $(BIN)/python -m spacy train training/ner/config-stage3.cfg --output training/ner/output/stage3 --paths.base training/ner/output/stage2/model-last
	rm -rf pipeline/models/ner-news && cp -r training/ner/output/stage3/model-last pipeline/models/ner-news
	$(BIN)/python training/ner/gazetteer.py --corpus training/ner/corpus/trainval.spacy --out pipeline/models/ner-news/gazetteer.json
	du -sh pipeline/models/ner-news
