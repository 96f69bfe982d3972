#!/usr/bin/env bash
# Create .venv (if missing) and install crossmodal with its pinned dependencies. Idempotent:
# when pyproject.toml and this script are unchanged since the last successful setup, it returns
# at once. Everything comes from PyPI (torch/torchvision from the machine's local wheels when present).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.crossmodal-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "crossmodal setup: .venv is up to date"
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[workflow,test,cluster]"
# timm only supplies ImageNet synset lists; its own dependencies (hub clients) are not needed.
.venv/bin/python -m pip install --quiet --no-deps "timm==1.0.31"
.venv/bin/python -c "import crossmodal, torch, gensim, snakemake; print('crossmodal setup OK: torch', torch.__version__)"
echo "$want" > "$stamp"
