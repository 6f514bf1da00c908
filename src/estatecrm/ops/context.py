"""Per-request context shared by the ops middleware: request id, client address, timings."""

from __future__ import annotations

import ipaddress
import random
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Mount, compile_path
from starlette.types import Scope

# What we accept from a caller's X-Request-ID; anything else is replaced by our own id.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNMATCHED = "__unmatched__"


@dataclass
class RequestStats:
    """What one request did: its id and its database round trips (for logs and /trace)."""

    request_id: str
    db_queries: int = 0
    db_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


request_stats: ContextVar[RequestStats | None] = ContextVar("estatecrm_request", default=None)


def new_request_id() -> str:
    """A fresh request id: 128 random bits as 32 hex digits.

    Request ids correlate log lines; they are not secrets, so they come from the fast
    in-process generator rather than a system call per request.
    """
    return f"{random.getrandbits(128):032x}"


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
        known = scope.get("state", {}).get("route_template")
        return known if isinstance(known, str) else UNMATCHED
    if hasattr(route, "routes") or route.__class__.__name__ == "Mount":
        return path.rstrip("/") + "/{path}"
    return path or "/"


def _flatten(routes: Any, prefix: str = "") -> list[tuple[re.Pattern[str], str]]:
    """(regex, template) of every route, through included routers and mounts."""
    out: list[tuple[re.Pattern[str], str]] = []
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI's lazily included router
            context = getattr(route, "include_context", None)
            out += _flatten(original.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, Mount):
            template = prefix + route.path.rstrip("/") + "/{path}"
            out.append((compile_path(prefix + route.path + "/{path:path}")[0], template))
        elif isinstance(getattr(route, "path", None), str):
            out.append((compile_path(prefix + route.path)[0], prefix + route.path))
    return out


def resolve_route(scope: Scope) -> str:
    """The route template a request will reach, for responses made before routing runs.

    Also remembered in the request state, so the metrics middleware labels it the same.
    """
    app = scope.get("app")
    router = getattr(app, "router", None)
    if router is None:
        return UNMATCHED
    table = router.__dict__.get("_estatecrm_route_table")
    if table is None:
        table = router.__dict__["_estatecrm_route_table"] = _flatten(router.routes)
    path = scope.get("path", "")
    found = next((template for regex, template in table if regex.match(path)), UNMATCHED)
    state(scope)["route_template"] = found
    return found
