"""Redis, and nothing else: the connection, agent state, turns (one call at a time),
run tracking and its queries, and the Lua scripts under `lua/`. Speaks keys and ids,
never `Agent`; imports only `agents.core`."""
