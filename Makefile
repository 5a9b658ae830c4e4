# The two commands: `make demo` (the whole pipeline, locally) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: demo test serve bootstrap lock stack-up stack-down lint bench clean

bootstrap:
	@scripts/bootstrap.sh

# requirements.lock from pyproject.toml (pins kept where still allowed; LOCK_ARGS=--upgrade moves them all)
lock:
	python3 scripts/lockfile.py lock $(LOCK_ARGS)

demo: bootstrap
	$(BIN)/wafad demo

test:
	@scripts/bootstrap.sh --browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# make serve WORKERS=2: the prefect.yaml deployments on the process work pool with 2 local workers
serve: bootstrap
	$(BIN)/wafad serve $(if $(WORKERS),--workers $(WORKERS))

stack-up: bootstrap
	$(BIN)/wafad stack up

stack-down:
	$(BIN)/wafad stack down

lint: bootstrap
	$(BIN)/ruff check .

bench: bootstrap
	$(BIN)/python -m bench

clean: stack-down
	rm -rf .wafad out
