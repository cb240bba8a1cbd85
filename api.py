"""`python api.py`: the HTTP and WebSocket API, the same as `temporal-agents api` (its code
is `temporal_agents.api`: the app factory and the uvicorn settings)."""

from temporal_agents.api import app, asgi, main, run, server_config

__all__ = ["app", "asgi", "main", "run", "server_config"]

if __name__ == "__main__":
    run()
