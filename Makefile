# The two commands a newcomer needs: `make run` and `make test`. Everything else is tooling.
SHELL := /bin/bash
PY := .venv/bin/python
EVAL ?=
OUT ?=
HISTORY ?=

.PHONY: setup model run test lint typecheck check bench nlu-report eval-search eval-routing eval-dialogue bench-search

setup:
	@bash scripts/setup.sh

model: setup
	@$(PY) -m bot train

# The sports-facility standards catalogue has no stated licence, so it is not in the
# repository: it is imported from the shared data folder when that exists (incremental:
# a second run embeds nothing). STANDARDS_CATALOGUE= (empty) skips it.
STANDARDS_CATALOGUE ?= ../shared/data/standards/sports_facility_standards_catalogue.jsonl

run: model
	@if [ -n "$(STANDARDS_CATALOGUE)" ] && [ -f "$(STANDARDS_CATALOGUE)" ]; then \
		$(PY) -m bot kb seed && $(PY) -m bot kb import "$(STANDARDS_CATALOGUE)" --kind standard; fi
	@$(PY) -m bot run

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
