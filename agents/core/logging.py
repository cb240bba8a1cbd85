"""structlog configuration: call `configure_logging()` once at each entry point.

JSON lines when stderr is not a terminal, a console renderer when it is. Standard
library records (Temporal's own loggers, uvicorn) go through the same processors,
so every line of a process has one shape. Context such as agent, workflow id,
run id and step is bound with `structlog.contextvars` where work happens.
"""

from __future__ import annotations

import logging
import sys

import structlog

from agents.core.tracing import add_trace_ids

_configured = False


def configure_logging(level: str | int = "INFO", *, json: bool | None = None) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    if json is None:
        json = not sys.stderr.isatty()
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Temporal's workflow/activity loggers put their context in `extra`.
        structlog.stdlib.ExtraAdder(),
        add_trace_ids,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        # Dropped lines (below the level) stop at the first processor, not the last.
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
