"""The Temporal side: the client, runs and their controls, standalone runs, workflow
schedules, scheduled calls, the call queue, reconciliation with Temporal and redeploys.
Services take an `AgentId` (type, name, keys), never the Agent itself; what they need of
their process is `ports.ControlRuntime`. Imports `core`, `store` and `actor`."""
