"""The HTTP API routes (docs/contract.md, "HTTP and WebSocket"), mounted by `api.app()`."""

from agents.http.calls import router as calls_router
from agents.http.chat import router as chat_router
from agents.http.custom import router as custom_router
from agents.http.deps import AgentDep, Runtime, get_runtime
from agents.http.errors import install_error_handlers
from agents.http.events import router as events_router
from agents.http.schedules import router as schedules_router
from agents.http.standalone import router as standalone_router
from agents.http.state import router as state_router
from agents.http.workflows import router as workflows_router

__all__ = [
    "AgentDep",
    "Runtime",
    "calls_router",
    "chat_router",
    "custom_router",
    "events_router",
    "get_runtime",
    "install_error_handlers",
    "schedules_router",
    "standalone_router",
    "state_router",
    "workflows_router",
]
