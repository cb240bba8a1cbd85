"""Redis key layout.

Every key of one agent carries the hash tag `{type:name}`, so all of an agent's keys
live in one Redis Cluster slot and the multi-key Lua scripts stay legal there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentKeys:
    prefix: str
    agent_type: str
    name: str

    @property
    def _base(self) -> str:
        return f"{self.prefix}{{{self.agent_type}:{self.name}}}"

    @property
    def state(self) -> str:
        """Hash: one field per top-level state key, each value JSON."""
        return f"{self._base}:state"

    @property
    def meta(self) -> str:
        """Hash: `set` (state was ever written) and `version` (bumped on every write)."""
        return f"{self._base}:meta"

    @property
    def channel(self) -> str:
        """Pub/sub channel every API process subscribes to for this agent's clients."""
        return f"{self._base}:events"

    @property
    def turn(self) -> str:
        """The token of the call that holds the agent's turn (a lease: `SET PX`)."""
        return f"{self._base}:turn"

    @property
    def turn_queue(self) -> str:
        """Sorted set: tokens waiting for the turn, by ticket (arrival order)."""
        return f"{self._base}:turn:queue"

    @property
    def turn_alive(self) -> str:
        """Sorted set: waiting tokens by when their place lapses unless they poll again."""
        return f"{self._base}:turn:alive"

    @property
    def turn_seq(self) -> str:
        """Counter handing out the queue's tickets."""
        return f"{self._base}:turn:seq"

    @property
    def schedules(self) -> str:
        """Hash: the agent's workflow schedules (Temporal Schedules), id -> JSON."""
        return f"{self._base}:schedules"

    @property
    def calls(self) -> str:
        """Hash: the agent's scheduled method calls, id -> JSON row."""
        return f"{self._base}:calls"

    @property
    def queue(self) -> str:
        """List: ids of the agent's queued method calls, in order."""
        return f"{self._base}:queue"

    @property
    def queue_items(self) -> str:
        """Hash: the queued calls, id -> JSON."""
        return f"{self._base}:queue:items"

    @property
    def chat_messages(self) -> str:
        """String: a chat agent's transcript, a JSON array of AI SDK UI messages."""
        return f"{self._base}:chat:messages"

    @property
    def chat_turn(self) -> str:
        """String: a chat agent's turn in progress (JSON), absent while idle."""
        return f"{self._base}:chat:turn"

    @property
    def chat_queue(self) -> str:
        """List: chat requests (JSON) that came during a turn, answered in order after it."""
        return f"{self._base}:chat:queue"

    @property
    def chat_marks(self) -> str:
        """Hash: where each model step of the turn in progress began in its stream
        (`<request id>:<step>` -> seq), so a retried step knows what to take back."""
        return f"{self._base}:chat:marks"

    def chat_stream(self, request_id: str) -> str:
        """List: the frames (JSON) sent under one chat request id, kept for resuming."""
        return f"{self._base}:chat:stream:{request_id}"

    def chat_stream_fence(self, request_id: str) -> str:
        """String: set when a cancelled turn ends the stream; then only its end writes there."""
        return f"{self._base}:chat:stream:{request_id}:fence"

    @property
    def all_keys_pattern(self) -> str:
        """A SCAN pattern matching every key of this agent (and of no other)."""
        return _glob_escape(self._base) + ":*"

    def effect(self, effect_id: str) -> str:
        """Marker that a durable effect (identified by its activity) was applied."""
        return f"{self._base}:fx:{effect_id}"

    def run(self, tracking_id: str) -> str:
        """Hash: the tracking row of one run."""
        return f"{self._base}:run:{tracking_id}"

    def run_control(self, tracking_id: str) -> str:
        """String: the lock a pause or resume of one run holds (see RunTracker.control_lock)."""
        return f"{self._base}:control:{tracking_id}"

    def events_taken(self, tracking_id: str) -> str:
        """Set: ids of the events one run has taken (kept a week): a control's late mark
        for one of them changes nothing (see RunTracker.mark_resumed)."""
        return f"{self._base}:taken:{tracking_id}"

    def events_pending(self, tracking_id: str) -> str:
        """Hash: events delivered to one run and not yet reported taken (id -> "type|run
        id", kept a week): a `waiting` report for a type found here goes `running`."""
        return f"{self._base}:pending:{tracking_id}"

    # Run indexes: sorted sets with score 0 and members `index_member(created_at, id)`,
    # so lexicographic order is (created_at, id) and pages are ZRANGE BYLEX reads.

    @property
    def runs(self) -> str:
        return f"{self._base}:runs"

    @property
    def index_prefix(self) -> str:
        return f"{self._base}:runs:"

    def runs_by_status(self, status: str) -> str:
        return f"{self.index_prefix}status:{status}"

    def runs_by_name(self, workflow_name: str) -> str:
        return f"{self.index_prefix}name:{workflow_name}"

    def runs_by_metadata(self, key: str, value: str) -> str:
        # Key and value as one JSON array: no choice of characters in either can make two
        # different (key, value) pairs name the same index (`a=b`,`c` vs `a`,`b=c`).
        return f"{self.index_prefix}meta:{json.dumps([key, value], separators=(',', ':'))}"

    @property
    def runs_expiry(self) -> str:
        """Sorted set of finished runs with a retention, scored by when they expire."""
        return f"{self.index_prefix}expiry"


def index_member(created_at: int, tracking_id: str) -> str:
    return f"{created_at:013d}|{tracking_id}"


def member_id(member: str) -> str:
    return member.split("|", 1)[1]


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
