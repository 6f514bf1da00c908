"""Rate limits with the `limits` library: shared in Redis, per-worker memory when Redis fails.

Limits (all configurable, see `.env.example`): the JSON API per client address
(`RATE_LIMIT_DEFAULT`), `/csrf-token` (`RATE_LIMIT_CSRF`), and sign-in — `POST /login` and
`POST /api/v1/auth/token` — per client address and per account (`RATE_LIMIT_LOGIN`). Pages for
signed-in agents are not limited: a whole office shares one address. Static files,
`/metrics` and `/error-budget` (the deploy gate) are never limited; `/health` (load
balancers, CI runners, an office NAT polling it) is not limited unless `RATE_LIMIT_HEALTH`
is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from estatecrm.config import Settings, split_list
from estatecrm.ops.context import (
    header,
    in_networks,
    parse_networks,
    resolve_route,
    state,
)
from estatecrm.ops.metrics import RATE_LIMIT_EXCEEDED
from estatecrm.web.errors import error_response, wants_json

log = logging.getLogger("estatecrm.ratelimit")

REDIS_TIMEOUT_SECONDS = 0.25
# After Redis fails, use per-worker memory for this long before trying Redis again, so a dead
# Redis costs one failed attempt per interval rather than one per request.
REDIS_RETRY_AFTER_SECONDS = 5.0
LOGIN_PATHS = ("/login", "/api/v1/auth/token")
NEVER_LIMITED = ("/metrics", "/error-budget")
_MAX_LOGIN_BODY = 64 * 1024


@dataclass(frozen=True)
class Rule:
    """A named set of limits (e.g. 100/minute;1000/hour) and what it applies to."""

    name: str
    items: tuple[RateLimitItem, ...]


@dataclass(frozen=True)
class Outcome:
    """The result of counting one request against a rule."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    @property
    def retry_after(self) -> int:
        """Whole seconds until another request may succeed (at least 1)."""
        return max(1, math.ceil(self.reset_at - time.time()))


def _lean_memory_storage() -> MemoryStorage:
    """limits' in-memory storage, sweeping expired keys inline at most once a second.

    As shipped it starts an asyncio task on every hit to sweep expired keys, which costs
    more than the counting itself; expired counters are harmless until swept (the sliding
    window ignores them), so sweeping once a second is enough.
    """
    storage = MemoryStorage()
    last_sweep = 0.0

    async def sweep_now_and_then() -> None:
        nonlocal last_sweep
        now = time.time()
        if now - last_sweep < 1.0:
            return
        last_sweep = now
        for key, expires in list(storage.expirations.items()):
            if expires <= now:
                storage.storage.pop(key, None)
                storage.expirations.pop(key, None)
                storage.locks.pop(key, None)

    # Replaces the private per-hit scheduler of this one instance (name-mangled attribute).
    storage._MemoryStorage__schedule_expiry = sweep_now_and_then  # type: ignore[attr-defined]
    return storage


class _Degraded(Exception):
    """Redis failed for this call; count in memory instead."""


def _rule(name: str, spec: str) -> Rule:
    return Rule(name, tuple(parse_many(spec)))


class RateLimiter:
    """Counts requests in Redis when configured and reachable, else in this worker's memory."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.exempt = parse_networks(split_list(settings.rate_limit_exempt_ips))
        self.default = _rule("default", settings.rate_limit_default)
        # Health probes: unlimited unless RATE_LIMIT_HEALTH asks for a budget.
        self.health = (
            _rule("health", settings.rate_limit_health) if settings.rate_limit_health else None
        )
        self.csrf = _rule("csrf", settings.rate_limit_csrf)
        self.login = _rule("login", settings.rate_limit_login)
        self.login_account = _rule("login_account", settings.rate_limit_login)
        self.memory = SlidingWindowCounterRateLimiter(_lean_memory_storage())
        self.redis: SlidingWindowCounterRateLimiter | None = None
        self.redis_url = settings.redis_url
        if settings.redis_url:
            storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=settings.rate_limit_key_prefix,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]
            )
            self.redis = SlidingWindowCounterRateLimiter(storage)
        self._redis_down_until = 0.0

    @property
    def backend(self) -> str:
        """Where counts live right now: `redis`, `memory (fallback)` or `memory`."""
        if self.redis is None:
            return "memory"
        return "memory (fallback)" if self._redis_down_until > time.monotonic() else "redis"

    def rule_for(self, method: str, path: str) -> Rule | None:
        """Which per-address rule applies to a request, if any."""
        if path.startswith("/static/") or path in NEVER_LIMITED or method == "OPTIONS":
            return None
        if path == "/health":
            return self.health
        if path == "/csrf-token":
            return self.csrf
        if method == "POST" and path in LOGIN_PATHS:
            return self.login
        if path.startswith("/api/"):
            return self.default
        return None

    async def hit(self, rule: Rule, key: str) -> Outcome | None:
        """Count one request for `key`: None if allowed, else the limit it ran into.

        Allowed requests cost one storage call; only a refusal reads the window's stats
        (for Retry-After and the X-RateLimit-* headers).
        """
        for item in rule.items:
            limiter = self._limiter()
            try:
                if await self._call(limiter, limiter.hit(item, rule.name, key)):
                    continue
                stats = await self._call(limiter, limiter.get_window_stats(item, rule.name, key))
            except _Degraded:
                if await self.memory.hit(item, rule.name, key):
                    continue
                stats = await self.memory.get_window_stats(item, rule.name, key)
            return Outcome(False, item.amount, stats.remaining, stats.reset_time)
        return None

    def _limiter(self) -> SlidingWindowCounterRateLimiter:
        if self.redis is not None and time.monotonic() >= self._redis_down_until:
            return self.redis
        return self.memory

    async def _call(self, limiter: SlidingWindowCounterRateLimiter, operation: Any) -> Any:
        if limiter is self.memory:
            return await operation
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS * 2):
                result = await operation
        except Exception as exc:  # any Redis trouble: degrade, never fail the request
            if not self._redis_down_until or self._redis_down_until < time.monotonic():
                log.warning(
                    "redis unavailable: rate limits fall back to this worker's memory",
                    extra={"error": exc.__class__.__name__},
                )
            self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS
            raise _Degraded from exc
        if self._redis_down_until:
            log.warning("redis is back: rate limits are shared again")
            self._redis_down_until = 0.0
        return result

    def exempt_client(self, address: str | None) -> bool:
        """Whether the client is on the RATE_LIMIT_EXEMPT_IPS list."""
        return address is not None and in_networks(address, self.exempt)


async def _account_of(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """The e-mail a sign-in request names (body read once and replayed to the app)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    email: Any = None
    if size <= _MAX_LOGIN_BODY:
        content_type = header(scope, b"content-type") or ""
        try:
            if content_type.startswith("application/x-www-form-urlencoded"):
                values = parse_qs(body.decode("utf-8", "replace")).get("email", [])
                email = values[0] if values else None
            elif "json" in content_type:
                data = json.loads(body or b"null")
                email = data.get("email") if isinstance(data, dict) else None
        except ValueError:
            email = None
    if isinstance(email, str) and email.strip():
        return email.strip().lower()[:320], replay
    return None, replay


class RateLimitMiddleware:
    """Answers 429 with Retry-After and X-RateLimit-* headers once a client is over its limit."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope.get("path", "")
        rule = self.limiter.rule_for(method, path)
        if rule is None:
            await self.app(scope, receive, send)
            return
        client = state(scope).get("client_ip")
        if client is None:
            peer = scope.get("client")
            client = peer[0] if peer else "unknown"
        if self.limiter.exempt_client(client):
            await self.app(scope, receive, send)
            return
        refused = await self.limiter.hit(rule, client)
        if refused is None and rule is self.limiter.login:
            account, receive = await _account_of(scope, receive)
            if account is not None:
                refused = await self.limiter.hit(self.limiter.login_account, account)
        if refused is not None:
            await self._reject(scope, receive, send, rule, client, refused)
            return
        await self.app(scope, receive, send)

    async def _reject(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        rule: Rule,
        client: str,
        outcome: Outcome,
    ) -> None:
        label = resolve_route(scope)
        RATE_LIMIT_EXCEEDED.labels(path=label).inc()
        retry = outcome.retry_after
        log.warning(
            "rate limit exceeded",
            extra={"rule": rule.name, "path": label, "client_ip": client, "retry_after": retry},
        )
        request = Request(scope, receive)
        message = (
            "Rate limit exceeded"
            if wants_json(request)
            else f"Too many requests. Try again in {retry} seconds."
        )
        response = error_response(request, 429, message, extra={"retry_after": retry})
        for key, value in _headers(outcome):
            response.headers.append(key.decode("latin-1"), value.decode("latin-1"))
        response.headers["retry-after"] = str(retry)
        await response(scope, receive, send)


def _headers(outcome: Outcome) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(outcome.limit).encode()),
        (b"x-ratelimit-remaining", str(max(0, outcome.remaining)).encode()),
        (b"x-ratelimit-reset", str(math.ceil(outcome.reset_at)).encode()),
    ]
