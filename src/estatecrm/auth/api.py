"""Auth JSON API: issue and revoke bearer tokens (`GET /me` lives with the calendar feed)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from estatecrm.auth import service
from estatecrm.auth.deps import bearer_token
from estatecrm.auth.schemas import TokenRequest, TokenResponse
from estatecrm.db.session import SessionDep
from estatecrm.errors import Unauthorized
from estatecrm.ops import metrics

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenResponse)
async def create_token(body: TokenRequest, request: Request, session: SessionDep) -> TokenResponse:
    """Exchange e-mail and password for a bearer token."""
    try:
        user = await service.authenticate(session, body.email, body.password)
    except Unauthorized:
        metrics.auth_failure("invalid_credentials")
        raise
    token = await service.issue_api_token(
        session, user, ttl=timedelta(hours=request.app.state.settings.api_token_ttl_hours)
    )
    return TokenResponse(access_token=token.raw, expires_at=token.expires_at)  # type: ignore[attr-defined]


@router.delete("/auth/token", status_code=204)
async def revoke_token(request: Request, session: SessionDep) -> Response:
    """Revoke the bearer token this request carries."""
    raw = bearer_token(request)
    if raw is None or not await service.revoke_api_token(session, raw):
        raise Unauthorized("Not authenticated")
    return Response(status_code=204)
