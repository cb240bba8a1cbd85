"""Who is calling, and what they may do: bearer tokens (static API keys or HS256 JWTs)
carrying scopes such as `control:task-agent/*` or `read:*/*`.

A scope is `<access>:<agent type>/<agent name>`; access is `read` (see runs, state,
schedules; connect a WebSocket and receive) or `control` (everything `read` may, plus
start, steer and delete runs, set state, call methods). Either half of the agent may be
`*`. Routes bound to no agent (standalone runs, `/metrics`) need a scope on `*/*`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import jwt

from agents.core.errors import ForbiddenError, UnauthenticatedError
from agents.core.names import SAFE_NAME_RE

Access = Literal["read", "control"]
_RANK = {"read": 0, "control": 1}


@dataclass(frozen=True)
class Grant:
    """One scope: `access` on agents matching `agent_type`/`name` (`*` matches any)."""

    access: Access
    agent_type: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Grant:
        access, sep, target = text.partition(":")
        agent_type, slash, name = target.partition("/")
        if not sep or not slash or access not in _RANK or not _part_ok(agent_type) or not _part_ok(name):
            raise ValueError(f"scope {text!r} is not `read|control:<agent type>/<name>` ('*' for any)")
        return cls(access, agent_type, name)  # type: ignore[arg-type]

    def allows(self, access: Access, agent_type: str | None, name: str | None) -> bool:
        if _RANK[self.access] < _RANK[access]:
            return False
        if agent_type is None:  # a route bound to no agent: only an all-agents scope covers it
            return self.agent_type == "*" and self.name == "*"
        return self.agent_type in ("*", agent_type) and self.name in ("*", name)

    def __str__(self) -> str:
        return f"{self.access}:{self.agent_type}/{self.name}"


def _part_ok(part: str) -> bool:
    return part == "*" or bool(SAFE_NAME_RE.match(part))


def parse_scopes(scopes: str | Iterable[str]) -> tuple[Grant, ...]:
    """`"control:task-agent/* read:*/*"` (OAuth style, space-separated) or a list."""
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    return tuple(Grant.parse(item) for item in items)


@dataclass(frozen=True)
class Principal:
    """The caller of one request or WebSocket connection."""

    subject: str
    """`key:<first 8 hex of the key's SHA-256>` for API keys, the `sub` claim for JWTs."""
    grants: tuple[Grant, ...]

    def can(self, access: Access, agent_type: str | None, name: str | None) -> bool:
        return any(g.allows(access, agent_type, name) for g in self.grants)

    def require(self, access: Access, agent_type: str | None, name: str | None) -> None:
        """Raise ForbiddenError, naming what is missing, unless a scope covers the action."""
        if not self.can(access, agent_type, name):
            target = f"{agent_type}/{name}" if agent_type is not None else "*/* (runs of no agent)"
            raise ForbiddenError(
                f"this token may not {access} {target}; it has: {' '.join(map(str, self.grants)) or 'no scopes'}"
            )


ANONYMOUS = Principal("anonymous", (Grant("control", "*", "*"),))
"""Everybody, when authentication is off (allowed only on a loopback bind)."""


class Authenticator:
    """Turns a bearer token into a Principal; `enabled` is False when nothing is configured."""

    def __init__(
        self,
        *,
        api_keys: Mapping[str, str] | None = None,
        jwt_secret: str | None = None,
        jwt_audience: str | None = None,
        jwt_issuer: str | None = None,
        leeway_seconds: float = 30,
    ) -> None:
        # Keyed by the key's digest: the lookup never compares secrets byte by byte.
        self._keys = {
            _digest(key): Principal(f"key:{_digest(key)[:8]}", parse_scopes(scopes))
            for key, scopes in (api_keys or {}).items()
        }
        self._jwt_secret = jwt_secret
        self._audience = jwt_audience
        self._issuer = jwt_issuer
        self._leeway = leeway_seconds

    @property
    def enabled(self) -> bool:
        return bool(self._keys) or self._jwt_secret is not None

    def authenticate(self, token: str | None) -> Principal:
        if not self.enabled:
            return ANONYMOUS
        if not token:
            raise UnauthenticatedError(
                "a bearer token is required: send `Authorization: Bearer <token>` (WebSockets: `?token=<token>`)"
            )
        principal = self._keys.get(_digest(token))
        if principal is not None:
            return principal
        if self._jwt_secret is None or token.count(".") != 2:
            raise UnauthenticatedError("the token is not a known API key")
        return self._from_jwt(token)

    def _from_jwt(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._jwt_secret,
                algorithms=["HS256"],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise UnauthenticatedError("the token has expired") from None
        except jwt.InvalidTokenError as err:
            raise UnauthenticatedError(f"the token is not valid: {err}") from None
        try:
            grants = parse_scopes(claims.get("scope", ""))
        except (ValueError, AttributeError, TypeError) as err:
            raise UnauthenticatedError(f"the token's scope claim is not valid: {err}") from None
        return Principal(str(claims["sub"]), grants)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
