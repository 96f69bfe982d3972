"""Shared fixtures: the offline real-data folder and the project root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Developers and CI find the real data copies beside the checkout; CROSSMODAL_SHARED_DATA overrides.
SHARED_DATA = Path(os.environ.get("CROSSMODAL_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder; tests that need it skip with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-data mirror not found at {SHARED_DATA} (set CROSSMODAL_SHARED_DATA)")
    return SHARED_DATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run only when selected with ``-m slow`` (they take minutes)."""
    expr = config.getoption("markexpr") or ""
    if "slow" in expr and "not slow" not in expr:
        return
    skip = pytest.mark.skip(reason="slow check: select with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
