"""The Jinja environment shared by every feature's pages (with HTMX fragments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from jinja2_fragments.fastapi import Jinja2Blocks

from estatecrm.kit.clock import to_london
from estatecrm.kit.money import format_pence
from estatecrm.kit.uk_phone import format_phone

PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = Path(__file__).resolve().parent / "static"


def _template_dirs() -> list[str]:
    dirs = [str(Path(__file__).resolve().parent / "templates")]
    for feature in sorted(PACKAGE_DIR.iterdir()):
        candidate = feature / "templates"
        if candidate.is_dir() and feature.name != "web":
            dirs.append(str(candidate))
    return dirs


templates = Jinja2Blocks(directory=_template_dirs())


def _london(value: Any, fmt: str = "%d %b %Y %H:%M") -> str:
    return to_london(value).strftime(fmt) if value else ""


def _label(value: Any) -> str:
    text = getattr(value, "value", value)
    return str(text or "").replace("_", " ").capitalize()


templates.env.filters["money"] = lambda pence, pcm=False: format_pence(pence, per_month=pcm)
templates.env.filters["london"] = _london
templates.env.filters["label"] = _label
templates.env.filters["phone"] = format_phone


def is_htmx(request: Request) -> bool:
    """Whether HTMX sent this request (it wants a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    """Render a page, or only `block` of it when HTMX asks for that region."""
    ctx = {"request": request, "user": getattr(request.state, "user_view", None), **context}
    ctx.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    if block is not None and is_htmx(request):
        return templates.TemplateResponse(
            request, name, ctx, block_name=block, status_code=status_code
        )
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


# The shell's navigation; each feature with pages adds its entry here.
NAV_LINKS: list[tuple[str, str]] = [
    ("/properties", "Properties"),
    ("/compliance", "Compliance"),
    ("/tasks", "Tasks"),
    ("/contacts", "Contacts"),
    ("/applicants", "Applicants"),
    ("/diary", "Diary"),
    ("/offers", "Offers"),
    ("/tenancies", "Tenancies"),
    ("/sales", "Sales"),
    ("/maintenance", "Maintenance"),
]
templates.env.globals["nav_links"] = NAV_LINKS
