"""Connects the real node's network namespace to the control plane on host loopback.

The control plane listens on the host's 127.0.0.1 only, and the node's processes and pods
live in their own network namespace, so one process bridges the two without touching host
networking: sockets keep the namespace they were created in, so this process creates its
listeners (and the sockets it dials) inside the node's namespace and the others on the host.

- node -> API server: listeners in the node's namespace (127.0.0.1:<port> for the node's
  processes, <node ip>:<port> for pods, behind the `kubernetes` Service) relay to the host's
  API server port.
- API server -> node (logs, exec, port-forward, proxy): an HTTP CONNECT proxy on a UNIX socket,
  named by the API server's egress selector for `cluster` traffic, dials inside the namespace.

Run as: python -m localcluster.nodeproxy NETNS API_PORT NODE_IP EGRESS_SOCKET
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


@contextlib.contextmanager
def inside(netns_fd: int, host_fd: int):
    """Create sockets in the node's namespace for the duration of the block."""
    _setns(netns_fd)
    try:
        yield
    finally:
        _setns(host_fd)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _splice(r1, w1, r2, w2) -> None:
    await asyncio.gather(_pipe(r1, w2), _pipe(r2, w1))


async def _dial(host: str, port: int, sock: socket.socket | None = None):
    if sock is None:
        return await asyncio.open_connection(host, port)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    return await asyncio.open_connection(sock=sock)


async def main(netns: str, api_port: int, node_ip: str, egress_socket: str) -> None:
    host_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    netns_fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)

    async def to_apiserver(reader, writer):
        try:
            r2, w2 = await _dial("127.0.0.1", api_port)
        except OSError:
            writer.close()
            return
        await _splice(reader, writer, r2, w2)

    async def connect_proxy(reader, writer):
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = request.split(b"\r\n", 1)[0].decode().split(" ", 2)
            host, port = target.rsplit(":", 1)
            if method != "CONNECT":
                raise ValueError(method)
            with inside(netns_fd, host_fd):
                sock = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET)
            r2, w2 = await _dial(host.strip("[]"), int(port), sock)
        except (ValueError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            with contextlib.suppress(Exception):
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await _splice(reader, writer, r2, w2)

    servers = []
    with inside(netns_fd, host_fd):
        for address in ("127.0.0.1", node_ip):
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((address, api_port))
            listener.listen(128)
            listener.setblocking(False)
            servers.append(await asyncio.start_server(to_apiserver, sock=listener))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(egress_socket)
    servers.append(await asyncio.start_unix_server(connect_proxy, path=egress_socket))
    os.chmod(egress_socket, 0o600)
    print(f"nodeproxy: API server port {api_port} in {netns} on 127.0.0.1 and {node_ip}; "
          f"egress proxy on {egress_socket}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    netns_name, port, ip, uds = sys.argv[1:5]
    asyncio.run(main(netns_name, int(port), ip, uds))
