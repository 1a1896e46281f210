# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_PROMPT ?= a woman turns toward the camera and smiles, on a beach at sunset

.PHONY: demo test install browser

install: $(VENV)/.installed

# Chromium for the web app's browser test (tests/test_app.py); where it cannot be installed
# (no apt, not root) the test is skipped and says why.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
	  echo "no Chromium here: the browser test will be skipped"

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned to the local CPU build: an unpinned torch can pull multi-GB CUDA wheels.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[nano,eval,data,train,consisid,app,dev]"
	touch $@

demo: install
	$(VENV)/bin/idvid generate --face assets/astronaut.jpg --prompt "$(DEMO_PROMPT)" --out outputs/demo.mp4 --overwrite

test: install browser
	$(PY) -m pytest
