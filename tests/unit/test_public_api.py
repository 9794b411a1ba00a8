"""What leakbench exports is its public API; every other module is private by name."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import leakbench

PUBLIC_MODULES = {"errors", "locust", "pytest_plugin", "scenarios"}


@pytest.mark.parametrize("name", sorted(set(leakbench.__all__) - {"__version__"}))
def test_every_exported_name_resolves(name: str) -> None:
    value = getattr(leakbench, name)
    assert value is not None
    module = getattr(value, "__module__", "")
    assert module.startswith("leakbench."), (name, module)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = leakbench.nothing_here  # type: ignore[attr-defined]


def test_every_top_level_module_is_public_by_intent_or_private_by_name() -> None:
    names = {info.name for info in pkgutil.iter_modules(leakbench.__path__)}
    public = {name for name in names if not name.startswith("_")}
    assert public == PUBLIC_MODULES, "a new public module belongs in docs/api.md first"


def test_the_errors_are_one_tree() -> None:
    errors = importlib.import_module("leakbench.errors")
    for name in ("UsageError", "RunError", "PartialRun", "Interrupted"):
        assert issubclass(getattr(errors, name), leakbench.LeakbenchError)
