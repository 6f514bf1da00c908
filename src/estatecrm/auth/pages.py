"""Sign-in and sign-out pages."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from estatecrm.auth import service
from estatecrm.auth.deps import SESSION_COOKIE
from estatecrm.db.session import SessionDep
from estatecrm.errors import Unauthorized
from estatecrm.ops import csrf, metrics
from estatecrm.web.forms import read_form
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    # Only same-site paths: never redirect a signed-in user to another origin.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/properties"


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    return render(
        request, "auth/login.html", {"next": _safe_next(next), "values": {}, "errors": {}}
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: SessionDep) -> Response:
    """Check the credentials, start a server-side session, set the cookie."""
    data = await read_form(request)
    email = str(data.get("email", "")).strip()
    password = str(data.get("password", ""))
    target = _safe_next(str(data.get("next") or ""))
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    if not errors:
        try:
            user = await service.authenticate(session, email, password)
        except Unauthorized as exc:
            errors["__all__"] = exc.message
            metrics.auth_failure("invalid_credentials")
        else:
            settings = request.app.state.settings
            max_age = timedelta(hours=settings.session_max_age_hours)
            raw = await service.start_web_session(
                session, user, max_age=max_age, user_agent=request.headers.get("user-agent")
            )
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                SESSION_COOKIE,
                raw,
                max_age=int(max_age.total_seconds()),
                httponly=True,
                samesite="lax",
                secure=not settings.is_development,
                path="/",
            )
            # A new session gets a new CSRF token bound to it.
            csrf.set_token_for_session(request, response, raw)
            return response
    status = 401 if "__all__" in errors else 422
    return render(
        request,
        "auth/login.html",
        {"next": target, "values": {"email": email}, "errors": errors},
        status_code=status,
    )


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    """Revoke the session and clear the cookie."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await service.end_web_session(session, raw)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    csrf.set_token_for_session(request, response, None)
    return response
