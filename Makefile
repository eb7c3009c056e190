# Two commands do all the set-up on a fresh machine: `make book` and `make test`.
# Both create .venv (Python 3.11, the pinned requirements, this project in
# editable mode, a Jupyter kernel) when it is missing or out of date.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?=
PROFILE ?=

# The data mirror: the shared copy beside this checkout, when there is one.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(wildcard $(SHARED_DATA)),)
else
export POP_DATA_MIRROR ?= $(SHARED_DATA)
endif

# Keep Jupyter, IPython and matplotlib from writing into the home folder.
export MPLCONFIGDIR ?= $(CURDIR)/_build/home/matplotlib
export IPYTHONDIR ?= $(CURDIR)/_build/home/ipython
export JUPYTER_DATA_DIR ?= $(CURDIR)/_build/home/jupyter-data
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test check-claims bench student env browser clean

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name price-of-performance \
		--display-name "Python (price-of-performance)" >/dev/null
	touch $(STAMP)

# Execute every chapter that is not fresh, then build the HTML into _build/html/.
book: $(STAMP)
	$(BIN)/compendium build $(if $(JOBS),--jobs $(JOBS)) $(if $(PROFILE),--profile $(PROFILE))

# The test suite: unit tests, real papermill runs of fixture and real chapters
# (ci profile), a real book build, a Dask cluster on 127.0.0.1 and headless Chromium.
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Run every chapter at default parameters and fail if a claim expected to hold fails.
check-claims: book
	$(BIN)/compendium claims --check

# Timings of our build against Jupyter Book and a papermill loop; writes _build/bench.json.
bench: $(STAMP)
	$(BIN)/python -m compendium.bench $(if $(PROFILE),--profile $(PROFILE))

# Student copies of every chapter, solutions removed, in _build/student/.
student: $(STAMP)
	$(BIN)/compendium student

# Debian's Chromium for the browser test, installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is missing: install Debian's package 'chromium' (sudo apt-get install chromium)"; exit 1; \
		fi; }

clean:
	rm -rf _build
