"""The CRM with three extra routes that answer fast, fail (500) or answer slowly, so a test
can drive known traffic through the real middleware (tests/deploy/test_slo_parity.py):

    python -m uvicorn tests.deploy.slo_traffic_app:app --port N
"""

from __future__ import annotations

import asyncio

from fastapi.responses import PlainTextResponse

from estatecrm.main import create_app

SLOW_SECONDS = 0.6  # over the 500 ms latency objective

app = create_app()


@app.get("/drill/ok", include_in_schema=False)
async def ok() -> PlainTextResponse:
    return PlainTextResponse("ok")


@app.get("/drill/fail", include_in_schema=False)
async def fail() -> PlainTextResponse:
    return PlainTextResponse("failed on purpose", status_code=500)


@app.get("/drill/slow", include_in_schema=False)
async def slow() -> PlainTextResponse:
    await asyncio.sleep(SLOW_SECONDS)
    return PlainTextResponse("slow")
