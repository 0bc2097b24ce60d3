from __future__ import annotations

import pytest

from forms import Form

from .factories import fixture_form


@pytest.fixture(scope="session")
def plan_form() -> Form:
    return fixture_form("objectives-plan.form")


@pytest.fixture(scope="session")
def display_form() -> Form:
    return fixture_form("records-and-display.form")
