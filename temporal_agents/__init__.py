"""The `temporal-agents` command: `dev` (the whole local stack), `worker` and `api`.

Installed with the package as a console script; `python -m temporal_agents` is the same.
"""

from .cli import main

__all__ = ["main"]
