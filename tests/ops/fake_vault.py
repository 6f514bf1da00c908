"""A small HashiCorp Vault stand-in speaking the KV v2 HTTP API (read, write, check-and-set),
started on loopback by the tests. Only what the service uses; everything else answers 404."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeVault:
    """KV v2 secrets engine mounted at `mount`, guarded by one token."""

    def __init__(self, token: str = "s.test-root-token", mount: str = "secret") -> None:
        self.token = token
        self.mount = mount
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.sealed = False
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self) -> tuple[str, dict[str, list[str]]] | None:
                parts = urlsplit(self.path)
                prefix = f"/v1/{vault.mount}/data/"
                vault.requests.append((self.command, parts.path))
                if vault.sealed:
                    self._send(503, {"errors": ["Vault is sealed"]})
                    return None
                if self.headers.get("X-Vault-Token") != vault.token:
                    self._send(403, {"errors": ["permission denied"]})
                    return None
                if not parts.path.startswith(prefix):
                    self._send(404, {"errors": []})
                    return None
                return parts.path[len(prefix) :], parse_qs(parts.query)

            def do_GET(self) -> None:
                routed = self._route()
                if routed is None:
                    return
                path, query = routed
                history = vault.versions.get(path)
                if not history:
                    self._send(404, {"errors": []})
                    return
                wanted = int(query["version"][0]) if "version" in query else len(history)
                entry = history[wanted - 1]
                self._send(
                    200,
                    {
                        "request_id": "fake",
                        "data": {"data": entry["data"], "metadata": entry["metadata"]},
                    },
                )

            def do_POST(self) -> None:
                routed = self._route()
                if routed is None:
                    return
                path, _ = routed
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                history = vault.versions.setdefault(path, [])
                cas = (body.get("options") or {}).get("cas")
                if cas is not None and int(cas) != len(history):
                    self._send(
                        400,
                        {"errors": ["check-and-set parameter did not match the current version"]},
                    )
                    return
                metadata = {
                    "created_time": datetime.now(UTC).isoformat(),
                    "deletion_time": "",
                    "destroyed": False,
                    "version": len(history) + 1,
                }
                history.append({"data": dict(body.get("data") or {}), "metadata": metadata})
                self._send(200, {"request_id": "fake", "data": metadata})

            do_PUT = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def put(self, path: str, data: dict[str, str]) -> None:
        """Store a new version of a secret directly."""
        history = self.versions.setdefault(path, [])
        metadata = {"created_time": "", "deletion_time": "", "destroyed": False}
        history.append({"data": dict(data), "metadata": {**metadata, "version": len(history) + 1}})

    def current(self, path: str) -> dict[str, str]:
        """The newest version of a secret."""
        return dict(self.versions[path][-1]["data"])

    def start(self) -> FakeVault:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
