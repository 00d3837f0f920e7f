#!/usr/bin/env bash
# Fill .whl/ (git-ignored) with the pure-Python wheels a bare GPU image lacks, for
# benchmarks/gpu_labs.py to install into a scratch folder there. Run it where pip reaches PyPI;
# the versions are the ones this project's venv is tested with.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl && mkdir -p .whl
python3 -m pip download --quiet --no-deps --only-binary=:all: -d .whl \
  array-api-compat==1.16.0 starlette==1.10.0 uvicorn==0.55.0
ls -l .whl
