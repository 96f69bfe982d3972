#!/usr/bin/env bash
# Create .venv (if missing) and install crossmodal with its pinned dependencies. Idempotent.
# Everything comes from PyPI (torch/torchvision from the machine's local wheel cache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[workflow,test]"
# timm only supplies ImageNet synset lists; its own dependencies (hub clients) are not needed.
.venv/bin/python -m pip install --quiet --no-deps "timm==1.0.31"
.venv/bin/python -c "import crossmodal, torch, gensim, snakemake; print('crossmodal setup OK: torch', torch.__version__)"
