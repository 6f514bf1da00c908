"""Security headers on every response, errors included."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Only our own origin: no inline scripts or styles, no framing, forms post only to us.
# Pico's stylesheet draws its select arrows and checkboxes with data: SVGs, hence img-src.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
# The interactive API docs (/docs) load Swagger UI from its CDN and start it with an inline
# script; that one page, which shows no customer data, gets a policy that allows exactly that.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect")

PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


def _encode(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


COMMON_HEADERS = _encode(
    [
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
)
CSP_HEADER = _encode([("Content-Security-Policy", CONTENT_SECURITY_POLICY)])
DOCS_CSP_HEADER = _encode([("Content-Security-Policy", DOCS_CONTENT_SECURITY_POLICY)])
_NAMES = {name for name, _ in COMMON_HEADERS} | {b"content-security-policy"}


class SecurityHeadersMiddleware:
    """Adds HSTS, CSP, framing, sniffing, referrer and permissions policies to responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP_HEADER if scope.get("path") in DOCS_PATHS else CSP_HEADER

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k not in _NAMES]
                headers.extend(COMMON_HEADERS)
                headers.extend(csp)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
