"""Shared test set-up.

Tests marked ``libreoffice`` need ``soffice``. Locally they are skipped when it is missing; in CI
(``CI=true``) they are never skipped: a missing LibreOffice fails them.
"""

from __future__ import annotations

import os
import shutil

import pytest


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if soffice_path() or os.environ.get("CI", "").lower() == "true":
        return
    skip = pytest.mark.skip(reason="LibreOffice (soffice) er ikke installeret; køres altid i CI")
    for item in items:
        if "libreoffice" in item.keywords:
            item.add_marker(skip)
