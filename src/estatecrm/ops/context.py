"""Per-request context shared by the ops middleware: request id, client address, timings."""

from __future__ import annotations

import ipaddress
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Scope

# What we accept from a caller's X-Request-ID; anything else is replaced by our own id.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class RequestStats:
    """What one request did: its id and its database round trips (for logs and /trace)."""

    request_id: str
    db_queries: int = 0
    db_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


request_stats: ContextVar[RequestStats | None] = ContextVar("estatecrm_request", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this task, if any."""
    stats = request_stats.get()
    return stats.request_id if stats is not None else None


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The caller's request id if it is well-formed, otherwise a new one."""
    if value and REQUEST_ID_PATTERN.match(value):
        return value
    return new_request_id()


def parse_networks(items: list[str]) -> list[IPNetwork]:
    """IP addresses and CIDR ranges from settings."""
    return [ipaddress.ip_network(item, strict=False) for item in items]


def in_networks(address: str, networks: list[IPNetwork]) -> bool:
    """Whether an address belongs to one of the networks (False for non-IP values)."""
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def resolve_client(
    peer: str | None, forwarded_for: str | None, trusted: list[IPNetwork]
) -> str | None:
    """The real client address: walk X-Forwarded-For from the right past trusted proxies.

    Only a peer that is itself a trusted proxy may speak for the client; the first address
    (from the right) that is not a trusted proxy is the client.
    """
    if peer is None or not forwarded_for or not in_networks(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        client = hop
        if not in_networks(hop, trusted):
            break
    return client


def header(scope: Scope, name: bytes) -> str | None:
    """One request header (the last value if repeated), decoded as latin-1."""
    value = None
    for key, raw in scope.get("headers", ()):
        if key == name:
            value = raw.decode("latin-1")
    return value


def state(scope: Scope) -> dict[str, Any]:
    """The per-request state dict that `request.state` reads and writes."""
    st: dict[str, Any] = scope.setdefault("state", {})
    return st


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/properties/{property_id}`), for labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if route is None or not isinstance(path, str):
        return UNMATCHED
    if hasattr(route, "routes") or route.__class__.__name__ == "Mount":
        return path.rstrip("/") + "/{path}"
    return path or "/"


UNMATCHED = "__unmatched__"
