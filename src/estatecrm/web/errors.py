"""The one error renderer: JSON for the API and JSON clients, a page or an HTMX toast for people.

The app's exception handlers (install_error_handlers) and the ops middlewares (CSRF, rate
limits, the unexpected-error catcher) all answer through `error_response`, so an error looks
the same wherever it is raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from estatecrm.errors import CRMError
from estatecrm.web.templating import is_htmx, render

# Paths that answer JSON whatever the client accepts (the operations endpoints).
JSON_PATHS = frozenset({"/health", "/metrics", "/error-budget", "/csrf-token", "/trace"})


def wants_json(request: Request) -> bool:
    """API paths and clients that ask for JSON get JSON errors; people get pages."""
    path = request.url.path
    if path.startswith("/api/") or path in JSON_PATHS:
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: Request,
    status: int,
    message: str,
    detail: Any = None,
    field: str | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """One error, as JSON (`{"error", "detail", "field", ...extra}`) or as a page / HTMX toast.

    `extra` adds top-level JSON keys (the rate limiter's `retry_after`); a 5xx carries the
    request id so a caller can quote it. People who are not signed in (401) go to the sign-in
    page instead.
    """
    if wants_json(request):
        body: dict[str, Any] = {"error": message}
        if detail is not None:
            body["detail"] = detail
        if field is not None:
            body["field"] = field
        body.update(extra or {})
        request_id = getattr(request.state, "request_id", None)
        if status >= 500 and request_id:
            body["request_id"] = request_id
        return JSONResponse(body, status_code=status)
    if status == 401:
        target = "/login?next=" + quote(request.url.path)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    context = {"status": status, "message": message}
    if is_htmx(request):
        response = render(request, "error.html", context, block="toast", status_code=status)
        response.headers["HX-Retarget"] = "#toasts"
        response.headers["HX-Reswap"] = "beforeend"
        return response
    return render(request, "error.html", context, status_code=status)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors as `{loc, field, msg, type}`, naming the field a person would fix."""
    cleaned = []
    for err in errors:
        loc = list(err.get("loc", ()))
        names = [p for p in loc[1:] if isinstance(p, str)] if len(loc) > 1 else []
        field = (
            names[0]
            if names
            else (str(loc[0]) if loc and err.get("type") != "json_invalid" else "body")
        )
        cleaned.append(
            {
                "loc": [str(p) for p in loc],
                "field": field,
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return cleaned


def install_error_handlers(app: FastAPI) -> None:
    """Handlers for CRMError, malformed input and HTTP errors; no stack trace reaches a client."""

    @app.exception_handler(CRMError)
    async def _crm_error(request: Request, exc: CRMError) -> Response:
        return error_response(request, exc.status_code, exc.message, exc.detail, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = _clean_errors(exc.errors())
        fields = [e["field"] for e in errors if e["field"]]
        message = "Validation failed" + (f": {', '.join(dict.fromkeys(fields))}" if fields else "")
        return error_response(request, 422, message, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "Not found", 405: "Method not allowed"}
        message = (
            exc.detail if isinstance(exc.detail, str) else messages.get(exc.status_code, "Error")
        )
        response = error_response(request, exc.status_code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
