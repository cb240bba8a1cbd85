"""Refuse to run on a version of a library whose internals we rely on but never tested.

Each module that reaches into a library's private parts calls `require_tested` at import
with the minor it was built and tested against (pyproject.toml caps the same minor). An
environment that installed another version anyway (`pip install --no-deps`, an image
built without the lock) fails at import with what to do, not later with wrong behaviour.
"""

from __future__ import annotations

from importlib.metadata import version


def require_tested(distribution: str, tested: str, *, relies_on: str) -> None:
    """ImportError unless the installed `distribution` is of the `tested` minor ("1.35")."""
    installed = version(distribution)
    if installed != tested and not installed.startswith(f"{tested}."):
        raise ImportError(
            f"temporal-agents relies on {relies_on} of {distribution} {tested}.x, but {installed} is "
            f"installed: install the locked versions (pip install -r requirements/api.lock), or try "
            f"{installed} with `make deps-latest` and raise the cap in pyproject.toml if its guard tests pass"
        )
