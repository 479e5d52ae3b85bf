"""A real admission webhook server on 127.0.0.1 for the sandbox's API server to call over HTTPS."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from integrations.sandbox.tls import self_signed

Review = dict[str, Any]


class WebhookServer:
    """Records every AdmissionReview it is sent; ``decide(review) -> response fields`` answers it
    (default: allowed). ``ca_bundle`` is the base64 PEM a webhook configuration's caBundle takes."""

    def __init__(self, decide: Callable[[Review], dict[str, Any]] | None = None, *dns_names: str) -> None:
        self.reviews: list[Review] = []
        self.decide = decide or (lambda review: {"allowed": True})
        cert, key = self_signed(*dns_names)
        self.ca_bundle = base64.b64encode(cert).decode()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "c.pem").write_bytes(cert)
            (Path(d) / "k.pem").write_bytes(key)
            ctx.load_cert_chain(str(Path(d) / "c.pem"), str(Path(d) / "k.pem"))
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                review = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                review["path"] = self.path
                outer.reviews.append(review)
                answer = {"uid": review["request"]["uid"], **outer.decide(review)}
                body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                   "response": answer}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a caller that gave up (a webhook timeout) closed the connection first

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
