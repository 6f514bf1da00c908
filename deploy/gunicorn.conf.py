"""Gunicorn settings for Estate Agent CRM: N uvicorn workers that share metrics.

    gunicorn -c deploy/gunicorn.conf.py            # or: estatecrm serve --workers 4

Environment: HOST, PORT, WEB_CONCURRENCY (workers), GRACEFUL_TIMEOUT, WORKER_TIMEOUT,
PROMETHEUS_MULTIPROC_DIR (default: a folder under the system temp dir, per port), LOG_LEVEL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_port = os.environ.get("PORT", "8000")

wsgi_app = "estatecrm.main:app"
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{_port}"]
workers = max(1, int(os.environ.get("WEB_CONCURRENCY", "2")))
worker_class = "uvicorn_worker.UvicornWorker"
# Let in-flight requests finish on SIGTERM (rolling deploys), then stop.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
timeout = int(os.environ.get("WORKER_TIMEOUT", "60"))
keepalive = 5
# Recycle workers now and then so slow leaks cannot accumulate; jitter avoids a stampede.
max_requests = int(os.environ.get("MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("MAX_REQUESTS_JITTER", "1000"))
# The app writes one JSON line per request itself, and resolves client addresses from
# TRUSTED_PROXIES itself: gunicorn's access log and proxy handling stay off.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = ""
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "estatecrm.ops.logging.JSONFormatter"}},
    # A worker stopped on purpose (reload, rolling restart) is news, not an error.
    "filters": {"graceful": {"()": "estatecrm.ops.logging.GracefulStopFilter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"handlers": ["stdout"], "level": loglevel.upper()},
    "loggers": {
        "gunicorn.error": {
            "handlers": ["stdout"],
            "level": loglevel.upper(),
            "propagate": False,
            "filters": ["graceful"],
        },
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}

# prometheus_client chooses multiprocess mode when this variable is set before it is first
# imported; workers import the app after forking, so setting it here reaches all of them.
multiproc_dir = Path(
    os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    or Path(tempfile.gettempdir()) / f"estatecrm-prometheus-{_port}"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)

# Imported here, in the master and after the variable is set, not inside `child_exit`: that
# hook runs in gunicorn's SIGCHLD handler, and when two workers exit together (every
# shutdown) the second signal interrupted the first worker's half-done import of
# prometheus_client, failed with a circular-import ImportError, and made gunicorn exit 1.
from prometheus_client import multiprocess  # noqa: E402


def on_starting(server: Any) -> None:
    """Start every run with an empty metrics folder: old workers' samples are not ours."""
    if multiproc_dir.exists():
        shutil.rmtree(multiproc_dir)
    multiproc_dir.mkdir(parents=True, exist_ok=True)
    server.log.info("prometheus multiprocess directory: %s", multiproc_dir)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (in-progress requests, pool sizes)."""
    multiprocess.mark_process_dead(worker.pid, str(multiproc_dir))
