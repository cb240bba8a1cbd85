"""The ground floor of the agent layer: errors, settings, logging, names, Redis key
names, JSON payload checks, messages to clients, metrics, auth tokens, and the records
the other rooms return. No I/O, and no import of any other room."""
