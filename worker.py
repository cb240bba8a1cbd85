"""`python worker.py`: the Temporal worker, the same as `temporal-agents worker` (its code
is `temporal_agents.worker`). Settings come from the environment."""

from temporal_agents.worker import main, run, run_worker

__all__ = ["main", "run", "run_worker"]

if __name__ == "__main__":
    run()
