"""The HTTP API routes (docs/contract.md, "HTTP and WebSocket"), mounted by `api.app()`."""

from .calls import router as calls_router
from .custom import router as custom_router
from .deps import AgentDep, Runtime, get_runtime
from .errors import install_error_handlers
from .events import router as events_router
from .schedules import router as schedules_router
from .standalone import router as standalone_router
from .state import router as state_router
from .workflows import router as workflows_router

__all__ = [
    "AgentDep",
    "Runtime",
    "calls_router",
    "custom_router",
    "events_router",
    "get_runtime",
    "install_error_handlers",
    "schedules_router",
    "standalone_router",
    "state_router",
    "workflows_router",
]
