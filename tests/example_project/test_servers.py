"""The demo's own servers: extra arguments reach redis-server, pause() freezes, resume() thaws."""

from __future__ import annotations

import socket

import pytest
import redis

from example_project.servers import memcached_server, redis_server


def test_redis_server_takes_extra_args_and_pauses() -> None:
    with redis_server(["--timeout", "7"]) as server:
        client = redis.Redis(port=server.port, socket_timeout=5)
        assert client.config_get("timeout") == {"timeout": "7"}
        server.pause()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.settimeout(0.3)
            sock.sendall(b"PING\r\n")
            with pytest.raises(TimeoutError):
                sock.recv(16)
            server.resume()
            sock.settimeout(5)
            assert sock.recv(16) == b"+PONG\r\n"


def test_memcached_server_answers_on_its_port() -> None:
    with memcached_server() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"version\r\n")
        assert sock.recv(64).startswith(b"VERSION ")
        assert server.url == f"memcached://127.0.0.1:{server.port}"
