"""Where the tests find the repository's vectors and the shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repository() -> Path:
    return REPOSITORY


@pytest.fixture(scope="session")
def shared() -> Path:
    """`../shared` beside the checkout (or `$SIGWARD_SHARED`); its absence fails the tests."""
    path = Path(os.environ.get("SIGWARD_SHARED", REPOSITORY.parent / "shared"))
    if not (path / "SPEC.md").is_file():
        pytest.fail(f"the shared data is missing: {path} (CI puts it beside the checkout)")
    return path
