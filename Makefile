# Every target builds .venv itself, so a machine with only python3 and make is enough.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# darabonba (the SDKs' HTTP core) honours HTTP_PROXY but ignores NO_PROXY: loopback calls must not go to a proxy.
# pip (make package, and the package test in make test) still needs the proxy to reach PyPI: PIP_PROXY keeps it.
PIP_PROXY_URL := $(or $(PIP_PROXY),$(HTTPS_PROXY),$(https_proxy),$(HTTP_PROXY),$(http_proxy))
NOPROXY := env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy -u ALL_PROXY -u all_proxy $(if $(PIP_PROXY_URL),PIP_PROXY=$(PIP_PROXY_URL))

.PHONY: demo test lint bench chaos clean venv package

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[cli,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(NOPROXY) $(BIN)/python -m scripts.demo

test: $(STAMP) lint
	$(NOPROXY) $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy shared emulator functions scripts

# Seeded fault injection (scripts/chaos/): CHAOS_SEED (default 1), CHAOS_RUNS (default 200).
CHAOS_SEED ?= 1
CHAOS_RUNS ?= 200
chaos: $(STAMP)
	$(NOPROXY) CHAOS_SEED=$(CHAOS_SEED) CHAOS_RUNS=$(CHAOS_RUNS) $(BIN)/python -m scripts.chaos

# The code package users upload (scripts/package.py): dist/image-relay-<version>-<rev>.zip, checked for FC's
# python3.10 runtime (glibc <= 2.28, every template Handler imports). POLICY=policy.yml ships a policy in it.
POLICY ?=
package: $(STAMP)
	$(BIN)/python -m scripts.package $(if $(POLICY),--policy $(POLICY))

bench: $(STAMP)
	$(NOPROXY) $(BIN)/python -m scripts.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info build dist
