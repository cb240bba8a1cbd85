"""Listing and bulk deletion of tracked runs: keyset pagination over the run indexes.

Each filter is a group of indexes (several statuses are a union). The smallest group
drives the walk in (created_at, id) order; the others are checked in batches with
ZMSCORE. A page costs a few range reads whatever the number of runs; `total` is
ZCARD / ZINTERCARD, and a zero total skips the walk.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from agents.core.errors import InvalidCursorError, ValidationError
from agents.core.keys import AgentKeys, index_member, member_id
from agents.core.names import SAFE_NAME
from agents.store.tracking import STATUSES, RunTracker, WorkflowInfo, metadata_index_value, now_ms

MAX_PAGE = 100
DEFAULT_PAGE = 50
_MEMBER = re.compile(rf"^\d{{13}}\|{SAFE_NAME}$")


@dataclass(slots=True)
class WorkflowPage:
    workflows: list[WorkflowInfo]
    total: int
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class RunFilter:
    statuses: tuple[str, ...] = ()
    workflow_name: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()

    @classmethod
    def build(
        cls, status: str | Iterable[str] | None, workflow_name: str | None, metadata: dict[str, Any] | None
    ) -> RunFilter:
        statuses = (status,) if isinstance(status, str) else tuple(status or ())
        for value in statuses:
            if value not in STATUSES:
                raise ValidationError(f"unknown status {value!r}; use one of {', '.join(STATUSES)}")
        pairs = []
        for key, value in (metadata or {}).items():
            indexed = metadata_index_value(value)
            if indexed is None:
                raise ValidationError(f"metadata filter {key!r}: only strings, numbers and booleans")
            pairs.append((key, indexed))
        return cls(tuple(dict.fromkeys(statuses)), workflow_name, tuple(pairs))

    def groups(self, keys: AgentKeys) -> tuple[list[str], list[str]]:
        """(status indexes, a run must be in one of them; other indexes, in all of them)."""
        singles = [keys.runs_by_name(self.workflow_name)] if self.workflow_name else []
        singles += [keys.runs_by_metadata(k, v) for k, v in self.metadata]
        statuses = [keys.runs_by_status(s) for s in self.statuses]
        if not statuses and not singles:
            singles = [keys.runs]
        return statuses, singles


def encode_cursor(member: str, order: str) -> str:
    raw = json.dumps({"after": member, "order": order}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str) -> str:
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCursorError("cursor is not valid base64; pass next_cursor back unchanged") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidCursorError("cursor does not decode to JSON; pass next_cursor back unchanged") from None
    if not isinstance(data, dict) or not isinstance(data.get("after"), str) or not _MEMBER.match(data["after"]):
        raise InvalidCursorError("cursor has the wrong shape; pass next_cursor back unchanged")
    if data.get("order") != order:
        raise InvalidCursorError(f"cursor belongs to an {data.get('order')!r} listing, not {order!r}")
    return data["after"]


class RunQueries:
    def __init__(self, redis: Redis, tracker: RunTracker) -> None:
        self._redis = redis
        self._tracker = tracker

    async def page(
        self,
        keys: AgentKeys,
        flt: RunFilter,
        *,
        limit: int = DEFAULT_PAGE,
        order: str = "desc",
        cursor: str | None = None,
    ) -> WorkflowPage:
        if order not in ("asc", "desc"):
            raise ValidationError(f"order must be 'asc' or 'desc', not {order!r}")
        if not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limit must be a whole number from 1 to {MAX_PAGE}")
        limit = min(limit, MAX_PAGE)
        after = decode_cursor(cursor, order) if cursor else None
        await self.prune_expired(keys)
        statuses, singles = flt.groups(keys)
        total = await self._total(statuses, singles)
        if total == 0:
            return WorkflowPage([], 0, None)
        driver, others = await self._plan(statuses, singles)
        members = await self._walk(driver, others, after=after, desc=order == "desc", need=limit + 1)
        rows = await self._tracker.get_many(keys, [member_id(m) for m in members[:limit]])
        more = len(members) > limit
        return WorkflowPage(rows, total, encode_cursor(members[limit - 1], order) if more else None)

    async def all(self, keys: AgentKeys) -> AsyncIterator[WorkflowInfo]:
        """Every tracked run of the agent, oldest first, read 500 at a time."""
        start = 0
        while members := await self._redis.zrange(keys.runs, start, start + 499):
            for row in await self._tracker.get_many(keys, [member_id(m) for m in members]):
                yield row
            start += len(members)

    async def delete(self, keys: AgentKeys, flt: RunFilter, *, created_before: int | None = None) -> int:
        driver, others = await self._plan(*flt.groups(keys))
        before = index_member(created_before, "") if created_before is not None else None
        deleted = 0
        walked = {*driver, *(key for group in others for key in group)}
        while True:
            batch = await self._walk(driver, others, after=None, desc=False, need=500, before=before)
            for member in batch:
                # A stray (an entry whose row is gone) leaves these indexes too, or the
                # next walk would find it again, for ever.
                deleted += await self._tracker.delete(keys, member_id(member), member=member, indexes=list(walked))
            if len(batch) < 500:
                return deleted

    async def prune_expired(self, keys: AgentKeys) -> int:
        """Delete finished runs whose retention ran out."""
        expired = await self._redis.zrange(keys.runs_expiry, "-inf", now_ms(), byscore=True, offset=0, num=200)
        for member in expired:
            await self._tracker.delete(keys, member_id(member), member=member)
        return len(expired)

    async def _total(self, statuses: list[str], singles: list[str]) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in statuses or [None]:
                keys_ = [k for k in (key, *singles) if k]
                pipe.zintercard(len(keys_), keys_) if len(keys_) > 1 else pipe.zcard(keys_[0])
            return sum(await pipe.execute())

    async def _plan(self, statuses: list[str], singles: list[str]) -> tuple[list[str], list[list[str]]]:
        """(the group to walk: the smallest; the groups to check members against)."""
        groups = ([statuses] if statuses else []) + [[key] for key in singles]
        if len(groups) == 1:
            return groups[0], []
        async with self._redis.pipeline(transaction=False) as pipe:
            for group in groups:
                for key in group:
                    pipe.zcard(key)
            sizes = iter(await pipe.execute())
        cards = [sum(next(sizes) for _ in group) for group in groups]
        smallest = cards.index(min(cards))
        return groups[smallest], groups[:smallest] + groups[smallest + 1 :]

    async def _walk(
        self,
        drivers: list[str],
        others: list[list[str]],
        *,
        after: str | None,
        desc: bool,
        need: int,
        before: str | None = None,
    ) -> list[str]:
        """Up to `need` members in order after `after`: in one of `drivers`, and in one
        index of every group of `others`."""
        batch = need if not others else max(need, 256)
        found: list[str] = []
        position = after
        while len(found) < need:
            lower = "(" + position if position and not desc else "-"
            upper = "(" + position if position and desc else ("(" + before if before else "+")
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in drivers:
                    if desc:
                        pipe.zrange(key, upper, lower, desc=True, bylex=True, offset=0, num=batch)
                    else:
                        pipe.zrange(key, lower, upper, bylex=True, offset=0, num=batch)
                chunks: list[list[str]] = await pipe.execute()
            merged = sorted({m for chunk in chunks for m in chunk}, reverse=desc)
            # Past the last member of a full chunk, that driver may hold members not read yet.
            full = [chunk[-1] for chunk in chunks if len(chunk) == batch]
            if full:
                horizon = max(full) if desc else min(full)
                merged = [m for m in merged if (m >= horizon if desc else m <= horizon)]
            found += await self._in_all(merged, others)
            if not full:
                break
            position = horizon
        return found[:need]

    async def _in_all(self, members: list[str], groups: list[list[str]]) -> list[str]:
        if not groups or not members:
            return members
        async with self._redis.pipeline(transaction=False) as pipe:
            for group in groups:
                for key in group:
                    pipe.zmscore(key, members)
            scores = iter(await pipe.execute())
        keep = [True] * len(members)
        for group in groups:
            in_group = [False] * len(members)
            for _ in group:
                for i, score in enumerate(next(scores)):
                    in_group[i] = in_group[i] or score is not None
            keep = [k and g for k, g in zip(keep, in_group, strict=True)]
        return [m for m, k in zip(members, keep, strict=True) if k]
