"""Each package's ``__all__`` is its contract: sorted, complete and real (as httpx checks)."""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

PACKAGES = ("catalog", "oods", "replica")


def _group(name: str) -> int:
    """isort-style groups: CONSTANTS, then Classes, then functions (ruff's RUF022 order)."""
    if name.isupper():
        return 0
    return 1 if name[:1].isupper() else 2


def _is_own_api(package: str, member: object) -> bool:
    if not (inspect.isclass(member) or inspect.isfunction(member)):
        return False
    module = getattr(member, "__module__", "") or ""
    return module == package or module.startswith(f"{package}.")


@pytest.fixture(params=PACKAGES)
def package(request: pytest.FixtureRequest) -> types.ModuleType:
    return importlib.import_module(request.param)


def test_all_is_a_sorted_list_of_unique_names(package: types.ModuleType) -> None:
    exported = package.__all__
    assert isinstance(exported, list)
    assert all(isinstance(name, str) for name in exported)
    assert len(set(exported)) == len(exported), "duplicates in __all__"
    assert exported == sorted(exported, key=lambda n: (_group(n), n))


def test_all_members_exist(package: types.ModuleType) -> None:
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert missing == []


def test_public_classes_and_functions_are_exported(package: types.ModuleType) -> None:
    public = {
        name
        for name, member in vars(package).items()
        if not name.startswith("_") and _is_own_api(package.__name__, member)
    }
    assert sorted(public - set(package.__all__)) == []


def test_star_import_gives_exactly_all(package: types.ModuleType) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package.__name__} import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(package.__all__)
