# The two commands: `make lab` and `make test`. Each first makes .venv match pyproject.toml.
# labkit/_cuda_stack.py picks one build of torch, ONNX Runtime and CuPy from the NVIDIA driver's
# CUDA version (CUDA 13, CUDA 12, or the CPU builds where no driver answers; LABKIT_CUDA=cpu
# forces the CPU build). The stamp names that variant, so a venv built on another kind of machine
# is brought up to date, its torch replaced when its build does not match the host.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VARIANT := $(shell $(PYTHON) labkit/_cuda_stack.py variant)
EXTRAS  := $(shell $(PYTHON) labkit/_cuda_stack.py extra)
STAMP  := $(VENV)/.labkit-installed-$(VARIANT)
# The grading kernel (labkit/grading/_kernel.py): installed as this venv's `python3` kernelspec so
# nbgrader runs learners' code under CPU-time and memory limits; JupyterLab kernels stay unlimited.
KERNEL := $(VENV)/share/jupyter/kernels/python3/.labkit-grading
# The torch release taken on CPU-only machines; the range in pyproject accepts it, so the
# project install that follows adds no second (CUDA) torch.
export TORCH_CPU ?= 2.13.0
HOST ?= 127.0.0.1
PORT ?= 8888
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True)

export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab test lint format course clean-venv

$(STAMP): pyproject.toml Makefile labkit/_cuda_stack.py
	@test -n "$(VARIANT)" || { echo "no supported torch build for this machine (see above)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PYTHON) labkit/_cuda_stack.py install-torch $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,cluster,$(EXTRAS)]"
	rm -f $(VENV)/.labkit-installed*
	touch $(STAMP)

# The grading sandbox needs bubblewrap, a system package: make never installs it, it says so.
$(KERNEL): $(STAMP) labkit/grading/_kernel.py
	$(BIN)/python -m labkit.grading._kernel install
	@command -v bwrap >/dev/null 2>&1 || echo "note: bubblewrap (bwrap) is not installed, so" \
		"labkit grade runs notebooks without the grading sandbox and grade-class refuses to run;" \
		"install it with your package manager (Debian/Ubuntu: sudo apt install bubblewrap)"
	touch $(KERNEL)

course: $(STAMP) $(KERNEL)
	$(BIN)/labkit course build --if-stale

lab: course
	@echo "Starting JupyterLab on notebooks/ — open the URL with the token printed below."
	$(BIN)/jupyter lab --ServerApp.ip=$(HOST) --ServerApp.port=$(PORT) --ServerApp.open_browser=False \
		--ServerApp.root_dir=$(CURDIR)/notebooks $(ALLOW_ROOT)

test: $(STAMP) $(KERNEL)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/labkit course check
	$(BIN)/python -m pytest -n 2 --durations=15

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-venv:
	rm -rf $(VENV)
