"""A real HTTP(S) server in a thread that answers each request from a script, for the client's
unit tests: statuses with headers, a reset connection, a connection closed without an answer."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import pathlib
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


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
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

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


# ---- certificates (made with cryptography, for real TLS servers and clients) ------------------

class Pki:
    """A CA that issues server certificates for 127.0.0.1 and client certificates."""

    def __init__(self, name: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (self._builder(subject, subject, self.key.public_key())
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, _sha256()))

    @staticmethod
    def _builder(subject, issuer, public_key):
        now = datetime.datetime.now(datetime.UTC)
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1)))

    def issue(self, cn: str, server: bool = True) -> tuple[bytes, bytes]:
        """(certificate PEM, private key PEM) for 127.0.0.1 (server) or a client named ``cn``."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]), self.cert.subject,
                                key.public_key())
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        cert = builder.sign(self.key, _sha256())
        return _pem(cert), _key_pem(key)

    def pem(self) -> bytes:
        return _pem(self.cert)


def _sha256():
    return hashes.SHA256()


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def server_tls(directory, cert_pem: bytes, key_pem: bytes, client_ca: bytes | None = None) -> ssl.SSLContext:
    """A server context presenting ``cert_pem``; with ``client_ca``, it requires a client certificate."""
    chain = pathlib.Path(directory) / f"server-{len(list(pathlib.Path(directory).iterdir()))}.pem"
    chain.write_bytes(cert_pem + key_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(chain))
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=client_ca.decode())
    return ctx


def kubeconfig(path, server: str, cluster: dict | None = None, user: dict | None = None) -> str:
    """Write a one-context kubeconfig; returns its path."""
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
           "clusters": [{"name": "cl", "cluster": {"server": server, **(cluster or {})}}],
           "users": [{"name": "u", "user": user or {}}],
           "contexts": [{"name": "c", "context": {"cluster": "cl", "user": "u"}}]}
    pathlib.Path(path).write_text(yaml.safe_dump(doc))
    return str(path)
