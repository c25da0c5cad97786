"""A real HTTP(S) server in a thread that answers each request from a script, for the client's
unit tests: statuses with headers, a reset connection, a connection closed without an answer."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def answer(status: int = 200, body: dict | None = None, **headers: str) -> tuple:
    return ("answer", status, body if body is not None else {}, headers)


RESET = ("reset",)  # TCP RST after reading the request: the client sees "connection reset"
CLOSE = ("close",)  # closed after reading the request, no answer: a keep-alive connection dropped


class ScriptedServer:
    """Answers request N with ``script[N]`` (then 200 {}); ``requests`` records (method, path,
    headers, body) in arrival order."""

    def __init__(self, script: list | None = None, tls: ssl.SSLContext | None = None):
        self.script = list(script or [])
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.requests.append((self.command, self.path, dict(self.headers), body))
                    step = server.script.pop(0) if server.script else answer()
                if step[0] == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if step[0] == "close":
                    self.close_connection = True
                    return
                _, status, payload, headers = step
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def finish(self):
                with contextlib.suppress(OSError):  # the socket was reset on purpose
                    super().finish()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def methods(self) -> list[str]:
        return [r[0] for r in self.requests]

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
