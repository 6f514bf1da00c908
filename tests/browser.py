"""An HTTP client that behaves like our pages in a browser: it sends the CSRF token.

Pages put the token in a hidden `csrf_token` field and HTMX sends it as `X-CSRF-Token`; this
client does the latter for every unsafe request that is not bearer-authenticated, fetching a
token from `/csrf-token` first if the browser has none yet. Tests of CSRF itself use a plain
`httpx.AsyncClient` (the `raw_client` fixture).
"""

from __future__ import annotations

from typing import Any

import httpx

CSRF_COOKIE = "estatecrm_csrf"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class BrowserClient(httpx.AsyncClient):
    """httpx.AsyncClient that sends X-CSRF-Token like HTMX does."""

    async def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        headers = httpx.Headers(kwargs.pop("headers", None))
        if (
            method.upper() in UNSAFE
            and "authorization" not in headers
            and "x-csrf-token" not in headers
        ):
            token = self.cookies.get(CSRF_COOKIE)
            if token is None:
                fetched = await super().request("GET", "/csrf-token")
                token = fetched.json()["csrf_token"]
            headers["X-CSRF-Token"] = token
        return await super().request(method, url, headers=headers, **kwargs)
