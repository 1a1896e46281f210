# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_PROMPT ?= a woman turns toward the camera and smiles, on a beach at sunset

.PHONY: demo test install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned to the local CPU build: an unpinned torch can pull multi-GB CUDA wheels.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[nano,eval,data,train,dev]"
	touch $@

demo: install
	$(VENV)/bin/idvid generate --face assets/astronaut.jpg --prompt "$(DEMO_PROMPT)" --out outputs/demo.mp4 --overwrite

test: install
	$(PY) -m pytest
