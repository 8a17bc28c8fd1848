"""Where the source checkout is, for the few tests that read it (the README's examples).

The suite also runs against an installed wheel from any folder. A test that needs the
checkout asks for the ``source_tree`` fixture: the folder named by ``CRASH_CORE_SOURCE``,
else this folder's parent when it holds the README, else the test is skipped with a reason.
"""

import os
from pathlib import Path

import pytest

SOURCE_ENV = "CRASH_CORE_SOURCE"


def find_source_tree() -> Path | None:
    """The checkout (a folder holding README.md), or None when the tests run without one."""
    named = os.environ.get(SOURCE_ENV)
    if named:
        root = Path(named).expanduser().resolve()
        if not (root / "README.md").is_file():
            raise pytest.UsageError(f"{SOURCE_ENV}={named} has no README.md; name a checkout")
        return root
    parent = Path(__file__).resolve().parents[1]
    return parent if (parent / "README.md").is_file() else None


@pytest.fixture
def source_tree() -> Path:
    root = find_source_tree()
    if root is None:
        pytest.skip(f"needs the source checkout's README.md; set {SOURCE_ENV}=/path/to/checkout")
    return root
