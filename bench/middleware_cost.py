"""What the operations middleware costs: requests/s with the full stack vs. none, side by side.

Starts two single-worker servers on one demo database — one with the whole stack (request
ids, JSON access logs at INFO, metrics + SLI accounting, security headers, CSRF, rate limits
counting every request) and one with OPS_MIDDLEWARE_ENABLED=false — then loads each endpoint
with `wrk` (or an httpx loop when wrk is missing), alternating bare and full runs so both see
the same machine conditions, and prints the median requests/s and the overhead.

    python bench/middleware_cost.py [--seconds 3] [--rounds 7] [--connections 16] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
DEMO_EMAIL = "admin@demo.estatecrm.test"
DEMO_PASSWORD = "demo-password-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "estatecrm.cli", *args],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )


def start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "estatecrm.cli", "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start, see {log}")


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> tuple[float, int]:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} failed responses; the run is not valid")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not match or not total:
        raise SystemExit(f"cannot read wrk output:\n{out}")
    return float(match.group(1)), int(total.group(1))


async def _loop(
    url: str, headers: dict[str, str], seconds: int, connections: int
) -> tuple[float, int]:
    done = 0
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            r = await client.get(url, headers=headers)
            if r.status_code >= 400:
                raise SystemExit(f"{url}: {r.status_code}")
            done += 1

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        return done / (time.monotonic() - started), done


def load(
    url: str, headers: dict[str, str], seconds: int, connections: int, server: Any = None
) -> tuple[float, float]:
    """Requests/s, and the server's CPU time per request in microseconds."""
    before = _cpu(server)
    if shutil.which("wrk"):
        rps, count = wrk(url, headers, seconds, connections)
    else:
        rps, count = asyncio.run(_loop(url, headers, seconds, connections))
    return rps, (_cpu(server) - before) / max(count, 1) * 1e6


def _cpu(server: Any) -> float:
    if server is None:
        return 0.0
    times = psutil.Process(server.pid).cpu_times()
    return float(times.user + times.system)


def _asgi_scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    raw = [(b"host", b"bench"), (b"user-agent", b"bench")]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": raw,
    }


async def _asgi_cpu(app: Any, scope: dict[str, Any], n: int) -> float:
    """CPU microseconds per request, calling the ASGI app directly (no HTTP, no network)."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    from estatecrm.ops.logging import flush_logs

    started = time.process_time()
    for _ in range(n):
        await app(dict(scope), receive, send)
    flush_logs()  # the log writer thread's CPU belongs to these requests too
    spent = time.process_time() - started
    if any(status >= 400 for status in statuses) and "/nothing" not in scope["path"]:
        raise SystemExit(f"{scope['path']}: failed with {sorted(set(statuses))}")
    return spent / n * 1e6


def in_process(
    database_url: str, endpoints: list[tuple[str, str, dict[str, str]]], rounds: int, n: int
) -> list[dict[str, Any]]:
    """The same comparison without HTTP: CPU per request of bare vs. full, in one process."""
    from estatecrm.config import Settings
    from estatecrm.db.session import create_engine, create_sessionmaker
    from estatecrm.main import create_app
    from estatecrm.ops.metrics import instrument_engine

    async def run() -> list[dict[str, Any]]:
        apps = {}
        for side, enabled in (("bare", False), ("full", True)):
            settings = Settings(
                database_url=database_url,
                environment="development",
                log_level="INFO",
                ops_middleware_enabled=enabled,
                rate_limit_default="100000000/minute",
                rate_limit_health="100000000/minute",
            )
            app = create_app(settings)
            app.state.engine = create_engine(settings)
            instrument_engine(app.state.engine)  # as create_app's lifespan does
            app.state.sessionmaker = create_sessionmaker(app.state.engine)
            apps[side] = app
        rows = []
        for label, path, headers in endpoints:
            scope = _asgi_scope(path, headers)
            cpu: dict[str, list[float]] = {"bare": [], "full": []}
            for app in apps.values():
                await _asgi_cpu(app, scope, 50)  # warm up
            # Many small alternating batches, compared pairwise (see the HTTP runs).
            for _ in range(rounds * 3):
                for side, app in apps.items():
                    cpu[side].append(await _asgi_cpu(app, scope, max(1, n // 3)))
            b, f = statistics.median(cpu["bare"]), statistics.median(cpu["full"])
            ratio = statistics.median(x / y for x, y in zip(cpu["bare"], cpu["full"], strict=True))
            rows.append(
                {
                    "endpoint": label,
                    "bare_cpu_us": round(b),
                    "full_cpu_us": round(f),
                    "middleware_us": round(f - b),
                    "throughput_cost_pct": round((1 - ratio) * 100, 1),
                }
            )
        for app in apps.values():
            await app.state.engine.dispose()
        return rows

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=3, help="length of each run")
    parser.add_argument("--rounds", type=int, default=7, help="bare/full pairs per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--redis", default="", help="count rate limits in this Redis")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--requests", type=int, default=1000, help="requests per in-process CPU round"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="estatecrm-bench-"))
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "INFO",
        }
    )
    cli(env, "demo", "--properties", "240")
    full_env = {
        **env,
        "OPS_MIDDLEWARE_ENABLED": "true",
        # Limits high enough never to refuse, so every request still pays for the counting.
        "RATE_LIMIT_DEFAULT": "100000000/minute",
        "RATE_LIMIT_HEALTH": "100000000/minute",
        "REDIS_URL": args.redis,
    }
    bare_env = {**env, "OPS_MIDDLEWARE_ENABLED": "false"}
    bare, bare_url = start(bare_env, work / "bare.log")
    full, full_url = start(full_env, work / "full.log")
    try:
        token = httpx.post(
            bare_url + "/api/v1/auth/token", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        ).json()["access_token"]
        with httpx.Client(base_url=full_url) as browser:
            csrf = browser.get("/csrf-token").json()["csrf_token"]
            r = browser.post(
                "/login",
                data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrf_token": csrf},
            )
            assert r.status_code == 303, r.text
            session = browser.cookies["estatecrm_session"]
            csrf_cookie = browser.cookies["estatecrm_csrf"]
        bearer = {"Authorization": f"Bearer {token}"}
        first = httpx.get(bare_url + "/api/v1/properties?limit=1", headers=bearer).json()
        prop_id = first["items"][0]["id"]
        cookies = {"Cookie": f"estatecrm_session={session}; estatecrm_csrf={csrf_cookie}"}
        endpoints = [
            ("GET /health", "/health", {}),
            ("GET /api/v1/properties/{id}", f"/api/v1/properties/{prop_id}", bearer),
            ("GET /properties/{id} (page)", f"/properties/{prop_id}", cookies),
        ]
        results: list[dict[str, Any]] = []
        for label, path, headers in endpoints:
            for url in (bare_url, full_url):  # warm both up
                load(url + path, headers, 1, args.connections)
            # Rounds alternate bare and full, so both see the same machine conditions.
            runs: dict[str, list[tuple[float, float]]] = {"bare": [], "full": []}
            for _ in range(args.rounds):
                for side, url, proc in (("bare", bare_url, bare), ("full", full_url, full)):
                    runs[side].append(
                        load(url + path, headers, args.seconds, args.connections, proc)
                    )
            b = statistics.median(r[0] for r in runs["bare"])
            f = statistics.median(r[0] for r in runs["full"])
            b_cpu = statistics.median(r[1] for r in runs["bare"])
            f_cpu = statistics.median(r[1] for r in runs["full"])
            # Each full run is compared with the bare run just before it, so drift in the
            # machine's load cancels out; the median of those ratios is the figure.
            ratio = statistics.median(
                full_run[0] / bare_run[0]
                for bare_run, full_run in zip(runs["bare"], runs["full"], strict=True)
            )
            cpu_ratio = statistics.median(
                bare_run[1] / full_run[1]
                for bare_run, full_run in zip(runs["bare"], runs["full"], strict=True)
            )
            results.append(
                {
                    "endpoint": label,
                    "bare_rps": round(b, 1),
                    "full_rps": round(f, 1),
                    "overhead_pct": round((1 - ratio) * 100, 1),
                    "bare_cpu_us": round(b_cpu),
                    "full_cpu_us": round(f_cpu),
                    "cpu_overhead_pct": round((1 - cpu_ratio) * 100, 1),
                    "bare_runs": [round(x[0], 1) for x in runs["bare"]],
                    "full_runs": [round(x[0], 1) for x in runs["full"]],
                }
            )
    finally:
        for proc in (bare, full):
            proc.terminate()
            proc.wait(timeout=30)
    # Plus a route that does no database work at all (a 404 under /api/, which still passes
    # every middleware, rate limit included): the difference there is the stack's own CPU.
    probe = [("GET /api/v1/nothing (404, no DB)", "/api/v1/nothing", bearer)]
    real_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:  # the full app's access log, not the report
        sys.stdout = devnull
        try:
            direct = in_process(env["DATABASE_URL"], probe + endpoints, args.rounds, args.requests)
        finally:
            sys.stdout = real_stdout

    tool = "wrk" if shutil.which("wrk") else "httpx loop"
    load1, load5, _ = os.getloadavg()
    print(
        f"\nOne uvicorn worker each, {tool}, {args.connections} connections, "
        f"{args.rounds} alternating {args.seconds}s runs per side, "
        f"rate limits in {'Redis' if args.redis else 'memory'}, CPUs: {os.cpu_count()}, "
        f"load average {load1:.1f} / {load5:.1f}\n"
    )
    print(
        f"{'endpoint':<30}{'bare req/s':>11}{'full req/s':>11}{'cost':>7}"
        f"{'bare CPU/req':>14}{'full CPU/req':>14}{'CPU cost':>10}"
    )
    for row in results:
        print(
            f"{row['endpoint']:<30}{row['bare_rps']:>11.1f}{row['full_rps']:>11.1f}"
            f"{row['overhead_pct']:>6.1f}%{row['bare_cpu_us']:>11} us{row['full_cpu_us']:>11} us"
            f"{row['cpu_overhead_pct']:>9.1f}%"
        )
    print(
        "\nreq/s and CPU/req: medians. cost = 1 - full/bare requests per second, and CPU cost ="
        "\nthe share of the full server's CPU per request spent in the stack; both the median"
        "\nover runs of the ratio to the bare run just before."
    )
    print(
        f"\nIn one process, calling the ASGI app directly (no HTTP): CPU per request, "
        f"{args.rounds * 3} alternating batches of {max(1, args.requests // 3)} requests per side"
        f" (medians; cost = median of pairwise 1 - bare/full)\n"
    )
    print(f"{'endpoint':<30}{'bare':>10}{'full':>10}{'middleware':>12}{'cost':>8}")
    for row in direct:
        print(
            f"{row['endpoint']:<30}{row['bare_cpu_us']:>7} us{row['full_cpu_us']:>7} us"
            f"{row['middleware_us']:>9} us{row['throughput_cost_pct']:>7.1f}%"
        )
    if args.json:
        payload = {"http": results, "in_process": direct}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
