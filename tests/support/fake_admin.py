"""A stand-in for the admin module's two fleet-facing protocols, for service tests.

It serves ``/.well-known/jwks.json`` from a :class:`TestKeys` and answers the client
credentials grant at ``/api/v1/auth/token`` with a service token minted from the same
keys, and it collects ``POST /internal/v1/audit-events`` batches. These are ArtStore's own
protocols, so a fake is allowed; the end-to-end tests use the real admin module.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.support.tokens import TestKeys

FLEET_SCOPES = {
    "svc-ingester": "files:read files:write files:write-on-behalf files:delete files:relocate audit:write",
    "svc-query": "files:read feed:read audit:write",
    "svc-storage": "files:read storage:register audit:write",
    "svc-admin": "storage:read storage:admin audit:write",
}


class FakeAdmin:
    def __init__(self, keys: TestKeys, scopes: dict[str, str] | None = None) -> None:
        self.keys = keys
        self.scopes = scopes or FLEET_SCOPES
        self.audit_events: list[dict[str, Any]] = []
        self.fail_audit = False
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAdmin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        admin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/jwks.json":
                    self._send(200, admin.keys.jwks())
                else:
                    self._send(404, {"detail": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if self.path == "/api/v1/auth/token":
                    self._token(raw)
                elif self.path == "/internal/v1/audit-events":
                    if admin.fail_audit:
                        self._send(503, {"detail": "down"})
                        return
                    known = {e["id"] for e in admin.audit_events}
                    events = json.loads(raw)["events"]
                    admin.audit_events.extend(e for e in events if e["id"] not in known)
                    self._send(200, {"accepted": len(events)})
                else:
                    self._send(404, {"detail": "not found"})

            def _token(self, raw: bytes) -> None:
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                client_id = form.get("client_id")
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    client_id = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
                if form.get("grant_type") != "client_credentials" or client_id not in admin.scopes:
                    self._send(401, {"error": "invalid_client"})
                    return
                token = admin.keys.service(client_id, admin.scopes[client_id])
                self._send(
                    200,
                    {
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": 1800,
                        "scope": admin.scopes[client_id],
                    },
                )

        return Handler
