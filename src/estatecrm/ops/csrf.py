"""CSRF protection: a signed double-submit cookie, bound to the browser's session.

The token is signed with SECRET_KEY (SECRET_KEY_PREVIOUS is still accepted after a rotation)
and carries a salted digest of the session cookie it was issued for, so a token obtained
anywhere else cannot be planted. Unsafe requests authenticated by the session cookie, and the
sign-in form, must echo the cookie's token in `X-CSRF-Token` (HTMX does, from <body>) or in a
`csrf_token` form field (every form renders one). Bearer-token requests are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from itsdangerous import BadSignature, Signer
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from estatecrm.ops.context import header, resolve_route, state
from estatecrm.ops.metrics import CSRF_FAILURES
from estatecrm.web.errors import error_response, wants_json

log = logging.getLogger("estatecrm.csrf")

CSRF_COOKIE = "estatecrm_csrf"
CSRF_HEADER = b"x-csrf-token"
FORM_FIELD = "csrf_token"
SESSION_COOKIE = "estatecrm_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FAILURE_MESSAGE = "CSRF validation failed"
_SALT = "estatecrm.csrf.v1"
_FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")
# Paths that never render a form or change anything: no token work at all.
_PASSIVE_PREFIXES = ("/static/", "/metrics", "/health")


def _same(a: str, b: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input (as bytes)."""
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def _binding(session_cookie: str | None) -> str:
    if not session_cookie:
        return ""
    return hashlib.sha256(f"{_SALT}:{session_cookie}".encode()).hexdigest()[:32]


class CSRFTokens:
    """Issues and checks tokens; the previous secret key still verifies after a rotation.

    A token is `nonce:binding.signature` (HMAC-SHA256 over nonce and session binding).
    """

    def __init__(self, secret_key: str, previous_key: str = "", *, secure: bool = True) -> None:
        keys = [secret_key, previous_key] if previous_key else [secret_key]
        self._signers = [Signer(key, salt=_SALT, digest_method=hashlib.sha256) for key in keys]
        self.secure = secure

    def issue(self, session_cookie: str | None) -> str:
        """A new token for this browser (bound to its session cookie, if any)."""
        payload = f"{secrets.token_urlsafe(18)}:{_binding(session_cookie)}"
        return self._signers[0].sign(payload).decode("ascii")

    def check(self, token: str | None, session_cookie: str | None) -> str | None:
        """None when the token is genuine and issued for this session; else why not."""
        if not token:
            return "missing"
        for signer in self._signers:
            try:
                payload = signer.unsign(token).decode("ascii", "replace")
            except BadSignature:
                continue
            nonce, sep, binding = payload.partition(":")
            if not (nonce and sep):
                return "malformed"
            if not _same(binding, _binding(session_cookie)):
                return "other_session"
            return None
        return "bad_signature"

    def cookie_header(self, token: str) -> bytes:
        """The Set-Cookie value that stores a token in the browser."""
        parts = [f"{CSRF_COOKIE}={token}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")


class LazyToken:
    """This request's token, worked out only if a page renders it or a check needs it.

    Reuses the browser's cookie token when it is still valid for its session (so other open
    tabs keep working), otherwise issues a new one (`fresh`, to be set as the cookie).
    """

    __slots__ = ("_cookie", "_session", "_tokens", "_value", "fresh")

    def __init__(self, tokens: CSRFTokens, cookie: str | None, session: str | None) -> None:
        self._tokens = tokens
        self._cookie = cookie
        self._session = session
        self._value: str | None = None
        self.fresh = False

    @property
    def used(self) -> bool:
        """Whether anything asked for the token."""
        return self._value is not None

    def get(self) -> str:
        """The token (computed on first use)."""
        if self._value is None:
            if self._cookie and self._tokens.check(self._cookie, self._session) is None:
                self._value = self._cookie
            else:
                self._value = self._tokens.issue(self._session)
                self.fresh = True
        return self._value

    def __str__(self) -> str:
        return self.get()

    def __html__(self) -> str:
        return self.get()

    def __bool__(self) -> bool:
        return True


def set_token_for_session(request: Request, response: Response, session_cookie: str | None) -> str:
    """Give the browser a fresh token bound to a new (or no) session: call at sign-in/out."""
    tokens: CSRFTokens | None = getattr(request.app.state, "csrf_tokens", None)
    if tokens is None:
        return ""
    token = tokens.issue(session_cookie)
    response.headers.append("set-cookie", tokens.cookie_header(token).decode("latin-1"))
    request.state.csrf_token = token
    return token


def _cookies(scope: Scope) -> dict[str, str]:
    raw = header(scope, b"cookie")
    return cookie_parser(raw) if raw else {}


def _is_bearer(scope: Scope) -> bool:
    auth = header(scope, b"authorization") or ""
    scheme, _, value = auth.partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class CSRFMiddleware:
    """Rejects unsafe cookie-authenticated requests without the matching token (403)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: CSRFTokens,
        protected_anonymous: tuple[str, ...] = ("/login",),
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.protected_anonymous = protected_anonymous

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_bearer(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope["method"]
        if method not in UNSAFE_METHODS and path.startswith(_PASSIVE_PREFIXES):
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        session_cookie = cookies.get(SESSION_COOKIE)
        cookie_token = cookies.get(CSRF_COOKIE)
        token = LazyToken(self.tokens, cookie_token, session_cookie)
        state(scope)["csrf_token"] = token

        if method in UNSAFE_METHODS and (session_cookie or path in self.protected_anonymous):
            supplied = header(scope, CSRF_HEADER)
            if not supplied:
                content_type = (header(scope, b"content-type") or "").encode("latin-1")
                if content_type.startswith(_FORM_TYPES):
                    body, complete = await _read_body(receive)
                    receive = _replay(body, receive)
                    if complete:
                        supplied = await self._form_token(scope, body)
            reason = self.tokens.check(cookie_token, session_cookie)
            if cookie_token is None:
                reason = "missing_cookie"
            elif reason is None and not supplied:
                reason = "missing_token"
            elif reason is None and not _same(supplied or "", cookie_token):
                reason = "token_mismatch"
            if reason is not None:
                await self._reject(scope, receive, send, reason, token)
                return

        cookie_prefix = CSRF_COOKIE.encode() + b"="

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and token.used and token.fresh:
                headers = list(message.get("headers", []))
                is_html = any(
                    k == b"content-type" and v.startswith(b"text/html") for k, v in headers
                )
                already = any(
                    k == b"set-cookie" and v.startswith(cookie_prefix) for k, v in headers
                )
                if is_html and not already:
                    headers.append((b"set-cookie", self.tokens.cookie_header(token.get())))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _form_token(self, scope: Scope, body: bytes) -> str | None:
        async def once() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        request = Request(scope, once)
        try:
            form = await request.form()
        except Exception:  # a malformed body is the handler's problem, not a token
            return None
        try:
            value = form.get(FORM_FIELD)
            return value if isinstance(value, str) else None
        finally:
            await form.close()

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, reason: str, token: LazyToken
    ) -> None:
        CSRF_FAILURES.inc()
        resolve_route(scope)
        log.warning(
            "csrf validation failed",
            extra={"reason": reason, "method": scope["method"], "path": scope.get("path")},
        )
        request = Request(scope, receive)
        message = FAILURE_MESSAGE
        if not wants_json(request):
            message += ": the page had expired. Go back, reload it and try again."
        response = error_response(request, 403, message)
        if token.get() and token.fresh:  # the error page carries a fresh token for a retry
            response.headers.append(
                "set-cookie", self.tokens.cookie_header(token.get()).decode("latin-1")
            )
        await response(scope, receive, send)


router = APIRouter(tags=["operations"])


@router.get("/csrf-token")
async def csrf_token(request: Request) -> Any:
    """A CSRF token for this browser (also set as the `estatecrm_csrf` cookie)."""
    tokens: CSRFTokens = request.app.state.csrf_tokens
    lazy = getattr(request.state, "csrf_token", None)
    token = str(lazy) if lazy else tokens.issue(request.cookies.get(SESSION_COOKIE))
    response = JSONResponse({"csrf_token": token})
    response.headers["cache-control"] = "no-store"
    response.headers.append("set-cookie", tokens.cookie_header(token).decode("latin-1"))
    return response
