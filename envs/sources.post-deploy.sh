#!/usr/bin/env bash
# timm supplies only ImageNet synset lists (registry entries timm_*); its own dependencies
# (hub clients, torch) are not needed, so it is installed without them, as scripts/setup.sh does.
set -euo pipefail
pip install --no-deps "timm==1.0.31"
