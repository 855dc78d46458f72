"""The server as ``innoshare serve`` runs it (a real uvicorn process, over raw sockets): request
heads are bounded before the app (16 MB of headers and 10,000 header lines were read), and
what the server refuses itself is a problem document like the app's, never text/plain."""

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from app.core.middleware import MAX_URL_BYTES
from app.core.server import MAX_HEAD_BYTES, MAX_HEADER_FIELDS
from tests.conftest import TEST_SECRET
from tests.servers import running_servers


@pytest.fixture
def server(migrated_fresh_database_url: str) -> Iterator[tuple[str, int]]:
    env = {
        "INNOSHARE_DATABASE_URL": migrated_fresh_database_url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_ENV": "test",
        "INNOSHARE_LOG_LEVEL": "WARNING",
    }
    with running_servers(1, env, serve=True) as (url,):
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


def _exchange(address: tuple[str, int], head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (in pieces, as a client would), read the whole answer."""
    with socket.create_connection(address, timeout=10) as connection:
        try:
            for start in range(0, len(head), 65536):
                connection.sendall(head[start : start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: the answer is already there to read
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and _complete(received):
                    break
        except ConnectionResetError:
            pass
    status_line, _, rest = received.partition(b"\r\n")
    raw_headers, _, body = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in raw_headers.split(b"\r\n"):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _problem(answer: tuple[int, dict[str, str], bytes], status: int, code: str) -> Any:
    got, headers, body = answer
    assert got == status, (got, headers, body[:300])
    assert headers["content-type"] == "application/problem+json", headers
    problem = json.loads(body)
    assert problem["code"] == code
    assert problem["status"] == status
    return problem


def _get(path: str, *headers: bytes) -> bytes:
    lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])


def _heads_are_bounded_before_the_app(server: tuple[str, int]) -> None:
    ordinary = _exchange(server, _get("/healthz", b"X-Padding: " + b"a" * 8000))
    assert ordinary[0] == 200
    many = [b"X-Field-%d: 1" % i for i in range(MAX_HEADER_FIELDS - 5)]
    assert _exchange(server, _get("/healthz", *many))[0] == 200

    huge_value = _get("/healthz", b"X-Padding: " + b"a" * (16 * 1024 * 1024))
    _problem(_exchange(server, huge_value), 431, "request_header_fields_too_large")
    lines = [b"X-Field-%d: 1" % i for i in range(10_000)]
    _problem(_exchange(server, _get("/healthz", *lines)), 431, "request_header_fields_too_large")
    just_over = [b"X-Field-%d: 1" % i for i in range(MAX_HEADER_FIELDS + 1)]
    _problem(
        _exchange(server, _get("/healthz", *just_over)), 431, "request_header_fields_too_large"
    )
    # the server is still there for the next client
    assert _exchange(server, _get("/healthz"))[0] == 200


def _long_urls_and_unknown_methods_are_problem_documents(server: tuple[str, int]) -> None:
    long_url = "/v1/organizations?q=" + "a" * (MAX_URL_BYTES + 10)
    _problem(_exchange(server, _get(long_url)), 414, "uri_too_long")
    longer_than_a_head = "/v1/organizations?q=" + "a" * (MAX_HEAD_BYTES + 10)
    _problem(_exchange(server, _get(longer_than_a_head)), 431, "request_header_fields_too_large")
    unknown = b"FROBNICATE /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    _problem(_exchange(server, unknown), 501, "not_implemented")
    known_elsewhere = b"PROPFIND /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = _exchange(server, known_elsewhere)
    _problem(answer, 405, "method_not_allowed")
    assert answer[1]["allow"] == "GET, HEAD"
    garbage = b"GET /healthz HTTP/9.x\r\nHost: 127.0.0.1\r\n\r\n"
    _problem(_exchange(server, garbage), 400, "bad_request")


def _head_answers_like_get_without_a_body(server: tuple[str, int]) -> None:
    got = _exchange(server, _get("/v1/organizations"))
    head = b"HEAD /v1/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    status, headers, body = _exchange(server, head)
    assert status == 200
    assert body == b""
    assert headers["content-type"] == got[1]["content-type"] == "application/json"
    assert headers["etag"] == got[1]["etag"]


def test_the_server_as_served(server: tuple[str, int]) -> None:
    """One process for the three (each start builds the search index and more)."""
    _heads_are_bounded_before_the_app(server)
    _long_urls_and_unknown_methods_are_problem_documents(server)
    _head_answers_like_get_without_a_body(server)
