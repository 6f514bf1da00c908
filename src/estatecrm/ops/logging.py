"""JSON logs on stdout: one object per line, request ids on every line, secrets redacted.

Logging only appends the record to an in-memory queue; a writer thread formats and writes
batches, so a slow or blocked stdout never stalls the event loop.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections import deque
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from estatecrm.ops.context import (
    IPNetwork,
    RequestStats,
    accept_request_id,
    header,
    request_stats,
    resolve_client,
    state,
)

REDACTED = "[REDACTED]"
ACCESS_LOGGER = "estatecrm.access"

# Keys whose values never reach a log line, wherever they appear in structured data.
SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|authori[sz]ation|cookie|session|csrf|"
    r"sort[_-]?code|account[_-]?(number|no)|iban|bic|swift|bank|card[_-]?number|cvv",
    re.IGNORECASE,
)
# The same things written inside free text: `password=...`, `Authorization: Bearer ...`, ...
_SENSITIVE_ASSIGNMENT = re.compile(
    r"(?P<key>\b[\w-]*(?:pass(?:word|wd|phrase)?|secret|token|api[_-]?key|authori[sz]ation|"
    r"cookie|session|csrf|sort[_-]?code|account[_-]?(?:number|no)|iban)[\w-]*)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>(?:Bearer\s+|Basic\s+)?[^\s\"',;&]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
# UK bank details and card numbers in free text.
_SORT_CODE = re.compile(r"\b\d{2}-\d{2}-\d{2}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_ACCOUNT = re.compile(
    r"(?i)\b(acc(?:oun)?t(?:[\s_-]?(?:number|num|no\.?))?)(\s*[:=#]?\s*)\d{6,10}\b"
)

# Fields we write ourselves from trusted values; everything else is scrubbed.
SAFE_FIELDS = {"timestamp", "level", "logger", "request_id", "pid", "method", "route", "status"}
SAFE_FIELDS |= {"duration_ms", "db_queries", "db_ms", "user_id", "client_ip", "error_type"}

# LogRecord attributes that are not "extra" fields.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_RESERVED |= {"request_id", "color_message"}


# Cheap first pass: text with no digits and no sensitive word needs no scrubbing.
_SUSPICIOUS = re.compile(
    r"\d|pass|secret|token|key|auth|cookie|session|csrf|sort|acc|iban|bearer|basic",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """Free text with credentials and bank details replaced."""
    if not _SUSPICIOUS.search(text):
        return text
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SENSITIVE_ASSIGNMENT.sub(lambda m: f"{m.group('key')}{m.group('sep')}{REDACTED}", text)
    text = _ACCOUNT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _IBAN.sub(REDACTED, text)
    text = _SORT_CODE.sub(REDACTED, text)
    return _CARD.sub(REDACTED, text)


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of structured data with sensitive keys blanked and free text scrubbed."""
    if key is not None and SENSITIVE_KEY.search(key):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


# Path parameters that are secrets; requests to such routes are logged by route template.
CREDENTIAL_PATH_PARAMS = ("{token}",)


class RequestContextFilter(logging.Filter):
    """Stamps each record with the current request id (in the thread that logs it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            stats = request_stats.get()
            record.request_id = stats.request_id if stats is not None else None
        return True


class GracefulStopFilter(logging.Filter):
    """gunicorn logs every worker it stops on purpose (a reload, a rolling restart, a
    max_requests recycle) as "Worker (pid:N) was sent SIGTERM!" at error level: that is a
    normal event, so it is logged at info. SIGKILL and SIGABRT (timeouts) stay errors."""

    GRACEFUL = re.compile(r"^Worker \(pid:\d+\) was sent (SIGTERM|SIGQUIT|SIGINT|SIGHUP)!$")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and self.GRACEFUL.match(record.getMessage()):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, event, logger, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            payload["request_id"] = request_id
        for name, value in record.__dict__.items():
            if name not in _RESERVED and name not in payload and not name.startswith("_"):
                payload[name] = value
        payload["pid"] = record.process
        if record.exc_info and record.exc_info[0] is not None:
            payload["exception"] = "".join(traceback.format_exception(*record.exc_info))
            payload["error_type"] = record.exc_info[0].__name__
        elif record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return _render(payload)


def _render(payload: dict[str, Any]) -> str:
    out = {k: (v if k in SAFE_FIELDS else redact(v, k)) for k, v in payload.items()}
    return json.dumps(out, default=str, ensure_ascii=False)


class Event:
    """A log line built by our own code (the access log): no LogRecord machinery needed."""

    __slots__ = ("created", "event", "fields", "levelno", "name")

    def __init__(self, name: str, levelno: int, event: str, fields: dict[str, Any]) -> None:
        self.created = time.time()
        self.name = name
        self.levelno = levelno
        self.event = event
        self.fields = fields

    def render(self) -> str:
        """The JSON line, in the same shape as every other record."""
        payload: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(self.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": logging.getLevelName(self.levelno).lower(),
            "event": self.event,
            "logger": self.name,
        }
        request_id = self.fields.get("request_id")
        if request_id:
            payload["request_id"] = request_id
        for key, value in self.fields.items():
            payload.setdefault(key, value)
        payload["pid"] = os.getpid()
        return _render(payload)


def _prepare(record: logging.LogRecord) -> logging.LogRecord:
    # Resolve the message and traceback now, in the caller's thread (arguments may change).
    record.msg = record.getMessage()
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        record.exc_info = None
    return record


class _Writer:
    """A background thread that formats and writes queued records in batches.

    Logging a record costs the caller an append to a deque: no lock, no thread wake-up,
    no system call. The thread wakes every few milliseconds (at once for warnings and
    errors), formats whatever has queued up and writes it to stdout in one go.
    """

    def __init__(self, formatter: logging.Formatter, interval: float = 0.05) -> None:
        self.formatter = formatter
        self.interval = interval
        self.pending: deque[logging.LogRecord | Event] = deque()
        self.queued = 0
        self.written = 0
        self.wake = threading.Event()
        # After shutdown starts, write each record at once: the process may be ended by a
        # re-raised SIGTERM before atexit handlers (or this thread) run again.
        self.direct = False
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="estatecrm-log-writer", daemon=True)
        self.thread.start()

    def put(self, record: logging.LogRecord | Event) -> None:
        self.pending.append(record)
        self.queued += 1
        if self.direct:
            self._drain()
        elif record.levelno >= logging.WARNING:
            self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            self._drain()

    def _drain(self) -> None:
        with self._lock:
            self._drain_locked()

    def _drain_locked(self) -> None:
        lines: list[str] = []
        while self.pending:
            record = self.pending.popleft()
            try:
                if isinstance(record, Event):
                    lines.append(record.render())
                else:
                    lines.append(self.formatter.format(record))
            except Exception as exc:  # one unformattable record must not stop the others
                lines.append(json.dumps({"level": "error", "event": f"unloggable record: {exc}"}))
        if lines:
            try:
                stream = sys.stdout
                stream.write("\n".join(lines) + "\n")
                stream.flush()
            except Exception as exc:  # a closed or broken stdout must never kill this thread
                sys.stderr.write(f"log writer: cannot write to stdout: {exc!r}\n")
            self.written += len(lines)

    def flush(self, timeout: float) -> None:
        target = self.queued
        deadline = time.monotonic() + timeout
        while self.written < target and time.monotonic() < deadline:
            self.wake.set()
            time.sleep(0.002)


class BackgroundHandler(logging.Handler):
    """Stamps the request id and hands the record to the writer thread."""

    def __init__(self, writer: _Writer) -> None:
        super().__init__()
        self.writer = writer
        self.addFilter(RequestContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.put(_prepare(record))
        except Exception:
            self.handleError(record)


_writer: _Writer | None = None


def log_event(logger: logging.Logger, level: int, event: str, fields: dict[str, Any]) -> None:
    """Log one structured line cheaply (straight to the writer when it is running)."""
    if not logger.isEnabledFor(level):
        return
    if _writer is None:
        logger.log(level, event, extra=fields)
        return
    _writer.put(Event(logger.name, level, event, fields))


def configure_logging(level: str = "INFO") -> None:
    """Route every log record (ours, uvicorn's, SQLAlchemy's) through the JSON writer."""
    global _writer
    root = logging.getLogger()
    root.setLevel(level)
    logging.getLogger("estatecrm").setLevel(level)
    if _writer is not None:
        return
    _writer = _Writer(JSONFormatter())
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(BackgroundHandler(_writer))
    for name in ("uvicorn", "uvicorn.error", "gunicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    # We log every request ourselves, once, with the request id.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    access.disabled = True
    atexit.register(flush_logs)


def flush_logs(timeout: float = 5.0, *, final: bool = False) -> None:
    """Wait until every record logged so far has been written.

    `final=True` (at shutdown) also makes every later record be written at once.
    """
    if _writer is not None:
        _writer.flush(timeout)
        if final:
            _writer.direct = True
            _writer._drain()
    sys.stdout.flush()


# --- middleware ---------------------------------------------------------------------------


class RequestIdMiddleware:
    """Outermost: takes or makes the request id, resolves the client address, echoes the id."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: list[IPNetwork]) -> None:
        self.app = app
        self.trusted = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(header(scope, b"x-request-id"))
        client = scope.get("client")
        peer = client[0] if client else None
        if self.trusted and peer is not None:
            real = resolve_client(peer, header(scope, b"x-forwarded-for"), self.trusted)
            if real != peer and real is not None:
                scope["client"] = (real, 0)
                proto = header(scope, b"x-forwarded-proto")
                if proto in ("http", "https"):
                    scope["scheme"] = proto
            peer = real
        st = state(scope)
        st["request_id"] = request_id
        st["client_ip"] = peer
        token = request_stats.set(RequestStats(request_id=request_id))
        raw_id = request_id.encode("latin-1")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", raw_id))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_stats.reset(token)


class AccessLogMiddleware:
    """One JSON line per request with its outcome, duration and who asked."""

    def __init__(self, app: ASGIApp, *, skip_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.log = logging.getLogger(ACCESS_LOGGER)
        self.skip = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = scope.get("path", "")
            if not (self.skip and path.startswith(self.skip) and status < 400):
                self._emit(scope, status, (time.perf_counter() - started) * 1000.0)

    def _emit(self, scope: Scope, status: int, duration_ms: float) -> None:
        if not self.log.isEnabledFor(logging.INFO if status < 500 else logging.ERROR):
            return
        st = state(scope)
        stats = request_stats.get()
        path = scope.get("path")
        route = st.get("route")
        if isinstance(route, str) and any(p in route for p in CREDENTIAL_PATH_PARAMS):
            # The URL itself is the credential (a private calendar feed): log the template.
            path = route
        fields: dict[str, Any] = {
            "request_id": st.get("request_id"),
            "method": scope.get("method"),
            "path": path,
            "route": st.get("route"),
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "client_ip": st.get("client_ip"),
            "user_agent": (header(scope, b"user-agent") or "")[:200] or None,
        }
        user_id = st.get("user_id")
        if user_id is not None:
            fields["user_id"] = user_id
        if stats is not None and stats.db_queries:
            fields["db_queries"] = stats.db_queries
            fields["db_ms"] = round(stats.db_seconds * 1000.0, 2)
        level = logging.ERROR if status >= 500 else logging.INFO
        log_event(self.log, level, "request", fields)


def pid() -> int:
    """This worker's process id (for log lines and tests)."""
    return os.getpid()
