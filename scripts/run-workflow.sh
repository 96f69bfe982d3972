#!/usr/bin/env bash
# Run the workflow. Uses per-rule conda envs (--use-conda) when conda is on PATH, otherwise the
# project's .venv. Extra arguments go to snakemake (targets, --config mirror_dir=..., -n, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
conda_flag=()
if command -v conda >/dev/null 2>&1; then conda_flag=(--use-conda); fi
exec .venv/bin/snakemake --cores "${CORES:-$(nproc)}" "${conda_flag[@]}" "$@"
