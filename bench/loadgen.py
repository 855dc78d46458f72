"""bench_get's fallback load generator, for machines without wrk.

``python bench/loadgen.py URL --concurrency 32 --duration 10`` keeps CONCURRENCY keep-alive
HTTP/1.1 connections busy with ``GET URL`` for DURATION seconds (each sends its next request
as soon as the previous answer is read) and prints one JSON object: requests, failures,
duration_s, p50_ms, p99_ms. It speaks just enough HTTP for the two bench targets (responses
with a Content-Length) on raw asyncio streams, which costs far less CPU per request than a
general client such as httpx; anything else it cannot read counts as a failure.
"""

import argparse
import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0


class ProtocolError(Exception):
    """A response this client cannot read (no Content-Length, bad status line)."""


def build_request(url: str) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None or parts.port is None:
        raise ValueError(f"expected http://host:port/path, got {url}")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: */*\r\n\r\n"
    return parts.hostname, parts.port, request.encode("ascii")


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status_parts = lines[0].split(b" ", 2)
    if len(status_parts) < 2 or not status_parts[1].isdigit():
        raise ProtocolError(f"bad status line {lines[0]!r}")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            await reader.readexactly(int(value))
            return int(status_parts[1])
    raise ProtocolError("response without Content-Length")


async def request_loop(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: bytes,
    deadline: float,
    stats: Stats,
) -> None:
    while (started := time.perf_counter()) < deadline:
        writer.write(request)
        status = await asyncio.wait_for(read_response(reader), READ_TIMEOUT_S)
        stats.latencies.append(time.perf_counter() - started)
        if status != 200:
            stats.failures += 1


async def client(host: str, port: int, request: bytes, deadline: float, stats: Stats) -> None:
    """One connection, one request at a time, until the deadline; stops at the first error."""
    try:
        connecting = asyncio.open_connection(host, port)
        reader, writer = await asyncio.wait_for(connecting, CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError):
        stats.failures += 1
        return
    try:
        await request_loop(reader, writer, request, deadline, stats)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError, ValueError):
        stats.failures += 1
    finally:
        writer.close()


def percentile_ms(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted seconds, in milliseconds (0 when there are none)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1] * 1000


async def run(url: str, concurrency: int, duration: float) -> dict[str, float | int]:
    host, port, request = build_request(url)
    stats = Stats()
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(client(host, port, request, deadline, stats) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(stats.latencies)
    return {
        "requests": len(ordered),
        "failures": stats.failures,
        "duration_s": elapsed,
        "p50_ms": percentile_ms(ordered, 50),
        "p99_ms": percentile_ms(ordered, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    try:
        import uvloop  # installed with uvicorn[standard]; the servers use it too
    except ImportError:
        result = asyncio.run(run(args.url, args.concurrency, args.duration))
    else:
        result = uvloop.run(run(args.url, args.concurrency, args.duration))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
