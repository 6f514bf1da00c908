"""`CurrentUser` and the role gates, declared once as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from estatecrm.auth import service
from estatecrm.auth.models import Role, User
from estatecrm.db.scoping import bind_agency
from estatecrm.db.session import SessionDep
from estatecrm.errors import Forbidden, Unauthorized
from estatecrm.ops import metrics

SESSION_COOKIE = "estatecrm_session"


@dataclass(frozen=True)
class UserView:
    """What pages show of the signed-in user; safe to use after the transaction ends."""

    id: int
    email: str
    full_name: str
    role: Role
    agency_id: int

    @classmethod
    def of(cls, user: User) -> UserView:
        """A snapshot of a user row."""
        return cls(user.id, user.email, user.full_name, user.role, user.agency_id)


def bearer_token(request: Request) -> str | None:
    """The raw bearer token of a request, if it sent one."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def get_current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user, by bearer token or web session cookie; 401 otherwise."""
    cached: User | None = getattr(request.state, "user", None)
    if cached is not None:
        bind_agency(session, cached.agency_id)
        return cached
    user: User | None = None
    raw = bearer_token(request)
    if raw is not None:
        user = await service.user_for_api_token(session, raw)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            user = await service.user_for_web_session(session, cookie)
    if user is None:
        if raw is not None:
            metrics.auth_failure("invalid_token")
        elif request.cookies.get(SESSION_COOKIE):
            metrics.auth_failure("invalid_session")
        raise Unauthorized("Not authenticated")
    # From here on every query of this request's session is scoped to the user's agency.
    bind_agency(session, user.agency_id)
    request.state.user = user
    request.state.user_id = user.id
    request.state.user_view = UserView.of(user)
    return user


async def require_writer(user: Annotated[User, Depends(get_current_user)]) -> User:
    """Viewers may only read."""
    if user.role == Role.viewer:
        raise Forbidden("Viewers cannot make changes")
    return user


async def require_manager(user: Annotated[User, Depends(get_current_user)]) -> User:
    """Deleting and agency settings need a manager or an admin."""
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("Only a manager or admin can do this")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
WriterUser = Annotated[User, Depends(require_writer)]
ManagerUser = Annotated[User, Depends(require_manager)]
