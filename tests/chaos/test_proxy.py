"""The chaos suite's link proxy: forwards, cuts (reset + refuse), heals, delays."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tests.chaos.proxy import LinkProxy, ProxyLoop


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def loop() -> Iterator[ProxyLoop]:
    proxy_loop = ProxyLoop()
    yield proxy_loop
    proxy_loop.close()


def roundtrip(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(payload)
        return sock.recv(1024)


def answers(sock: socket.socket) -> bool:
    """True when the peer echoes a byte; False when the link is reset or closed."""
    try:
        sock.sendall(b"b")
        return sock.recv(1) == b"b"
    except OSError:
        return False


def link_works(port: int) -> bool:
    try:
        return roundtrip(port) == b"ping"
    except OSError:
        return False


def test_the_proxy_forwards_then_a_cut_drops_and_refuses_until_healed(
    loop: ProxyLoop, echo_port: int
) -> None:
    proxy = LinkProxy(loop, echo_port)
    assert roundtrip(proxy.port) == b"ping"
    held = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
    held.sendall(b"a")
    assert held.recv(1) == b"a"

    proxy.cut()
    assert not answers(held), "the established link should be reset"
    held.close()
    assert not link_works(proxy.port), "a new connection should get nowhere"

    proxy.heal()
    assert roundtrip(proxy.port) == b"ping"
    proxy.close()


def test_the_proxy_adds_its_delay_each_way(loop: ProxyLoop, echo_port: int) -> None:
    proxy = LinkProxy(loop, echo_port, delay_s=0.2)
    started = time.monotonic()
    assert roundtrip(proxy.port) == b"ping"
    assert time.monotonic() - started >= 0.4
    proxy.close()
