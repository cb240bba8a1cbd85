"""The actor: `Agent`, its decorators, the turn every entry into its code runs in,
activations (`on_start`), RPC, and the app registry. What an Agent needs of its process
is stated in `ports.py` as Protocols; the actor imports `core` and `store`, never the
Temporal side (`control`) or the runtime, even for typing."""
