# The two commands a newcomer needs: `make run` and `make test`. Everything else is tooling.
SHELL := /bin/bash
PY := .venv/bin/python
EVAL ?=
OUT ?=
HISTORY ?=

.PHONY: setup model run run-scaled test lint typecheck check bench nlu-report eval-search eval-routing eval-dialogue bench-search bench-import drill loadtest

setup:
	@bash scripts/setup.sh

model: setup
	@$(PY) -m bot train

# The sports-facility standards catalogue has no stated licence, so it is not in the
# repository: it is imported from the shared data folder when that exists. A file unchanged
# since its last import is skipped without loading the embedding model (`--force` re-reads
# it); a changed one re-embeds only its changed rows. STANDARDS_CATALOGUE= (empty) skips it.
STANDARDS_CATALOGUE ?= ../shared/data/standards/sports_facility_standards_catalogue.jsonl

define import_standards
	@if [ -n "$(STANDARDS_CATALOGUE)" ] && [ -f "$(STANDARDS_CATALOGUE)" ]; then \
		$(PY) -m bot kb seed && $(PY) -m bot kb import "$(STANDARDS_CATALOGUE)" --kind standard; fi
endef

run: model
	$(import_standards)
	@$(PY) -m bot run

# Replicas behind HAProxy on PostgreSQL and Redis (SCALED_GATEWAYS, SCALED_RASA,
# SCALED_ACTIONS, LB_PORT), e.g. `make run-scaled DATABASE_URL=postgresql://… REDIS_URL=redis://…`.
# The settings are checked before the catalogue is imported into that database.
run-scaled: model
	@$(PY) -m bot run-scaled --check
	$(import_standards)
	@$(PY) -m bot run-scaled

test: setup
	@bash scripts/test.sh

lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

typecheck: setup
	@.venv/bin/mypy bot actions connectors

check: lint typecheck

bench: model
	@$(PY) -m bot bench

nlu-report: setup
	@bash scripts/nlu_report.sh

eval-routing: setup
	@$(PY) -m bot routing eval $(if $(HISTORY),--history $(HISTORY)) $(if $(EVAL),--eval $(EVAL)) $(if $(OUT),--out $(OUT))

eval-dialogue: setup
	@$(PY) -m bot eval-dialogue $(if $(EVAL),--eval $(EVAL)) $(if $(OUT),--out $(OUT)) $(if $(HISTORY),--history $(HISTORY))

eval-search: setup
	@$(PY) -m bot kb eval $(if $(EVAL),--eval $(EVAL)) $(if $(OUT),--out $(OUT))

bench-search: setup
	@$(PY) -m bot bench search $(if $(OUT),--out $(OUT))

# A 10,000-row catalogue import, the same import again, and a published edit's time to live
# in another process's search (bot/bench/kb_import.py); ROWS= to change the size.
ROWS ?= 10000
bench-import: setup
	@$(PY) -m bot bench import --rows $(ROWS) $(if $(OUT),--out $(OUT))

# Capacity at 1 and 2 replicas (bot/bench/load.py): locust (its own venv, .venv-load) drives
# Chinese conversations through HAProxy in a step ramp of USERS citizens, DURATION measured
# seconds a step, THINK seconds between turns; needs PostgreSQL and Redis (scratch
# databases on the servers at LOAD_POSTGRES and LOAD_REDIS). About 5–8 minutes.
USERS ?= 6,12,18,24,30,36,42,48,56,64
DURATION ?= 25
THINK ?= 1,3
ACTIONS ?= 1
LOAD_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/test
LOAD_REDIS ?= redis://127.0.0.1:6379/0
loadtest: model
	@$(PY) -m bot bench load --users $(USERS) --duration $(DURATION) --think $(THINK) \
		--actions $(ACTIONS) --postgres-url $(LOAD_POSTGRES) --redis-url $(LOAD_REDIS) $(if $(OUT),--json $(OUT))

# Fault drills on the scaled deployment under load, on private Redis/PostgreSQL/RabbitMQ
# servers (nothing shared is touched); exits non-zero when anything was lost or doubled.
# DRILL_ONLY=rasa runs only the drills whose name contains it.
DRILL_ONLY ?=
drill: model
	@$(PY) -m bot bench drill $(if $(DRILL_ONLY),--only $(DRILL_ONLY))
