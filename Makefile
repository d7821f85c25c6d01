# `make demo`: the embedded demo (no server needed).
# `make test`: install what the tests need, then run them.
UV ?= uv
PYTEST_ARGS ?=

.PHONY: demo test deps bench lint

deps:
	@bash scripts/install-deps.sh

demo:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --all-extras --quiet
	@$(UV) run --frozen hotline-monitor demo

test: deps
	$(UV) run --frozen pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: deps
	$(UV) run --frozen python bench/run_all.py

lint:
	$(UV) run --frozen ruff check src tests bench
