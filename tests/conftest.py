"""Fixtures shared by every test package."""

pytest_plugins = ["tests.fixtures.backends", "tests.fixtures.engine"]
