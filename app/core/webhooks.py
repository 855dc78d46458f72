"""Webhook delivery as the Standard Webhooks specification (standardwebhooks.com) has it, with
the target guarded against server-side request forgery. The subscriptions of issue 14 build on
this; nothing here knows of subscriptions or events.

- **Signing** is the specification's own library (``standardwebhooks``): ``webhook-id``,
  ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 over
  ``id.timestamp.body``). While a secret is being rotated the old and the new one both sign, so
  a receiver holding either verifies: the signatures are joined by spaces, as the specification
  allows.
- **Targets** (:func:`check_target`) are https URLs without credentials (plain http too outside
  production). In production a target must not reach this side of the network: loopback,
  private, shared, link-local (the cloud metadata address 169.254.169.254), multicast and
  reserved addresses are refused, named or resolved.
- **Delivery** (:func:`deliver`) checks the address again when it connects, on the address it
  connects to (:class:`GuardedNetwork`), so a name that resolved to a public address when the
  target was saved and to a private one now (DNS rebinding) is refused. It follows no redirect
  (a 3xx is a failed attempt), bounds the whole attempt by a timeout, and reads at most a few
  kilobytes of the answer. It uses httpcore, httpx's transport, whose connection pool takes a
  network backend; httpx's client does not let one be given.
"""

import asyncio
import base64
import ipaddress
import secrets
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
from standardwebhooks.webhooks import Webhook

from app.core.errors import ValidationFailed

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
#: The whole attempt (connect, send, read the answer) ends after this many seconds.
TIMEOUT_SECONDS = 15.0
#: The answer is read up to this many bytes (kept in the delivery log); the rest is dropped.
MAX_ANSWER_BYTES = 4096
USER_AGENT = "InnoShare-Webhooks/1"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValidationFailed):
    """A webhook target the platform will not send to."""

    code = "webhook_target_refused"


def new_secret() -> str:
    """A signing secret, shown to its owner once: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secrets_in_use: Sequence[str], message_id: str, at: datetime, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` signature per secret in use."""
    if not secrets_in_use:
        raise ValueError("a message needs at least one secret to sign it")
    return " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets_in_use)


def signed_headers(
    secrets_in_use: Sequence[str], message_id: str, at: datetime, body: bytes
) -> dict[str, str]:
    """The headers of one delivery of ``body`` (the JSON as sent, byte for byte)."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(secrets_in_use, message_id, at, body),
    }


# --- where a webhook may go ----------------------------------------------------------------


def forbidden(address: Address) -> bool:
    """Whether ``address`` is on this side of the network: anything not globally routable
    (loopback, private, shared 100.64/10, link-local and with it cloud metadata, reserved,
    documentation), multicast, or an IPv4 address written as IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return forbidden(embedded)
    return not address.is_global or address.is_multicast


def check_target(url: str, *, production: bool) -> str:
    """``url`` if the platform may send webhooks to it, else :class:`TargetRefused`.

    https always; http outside production (a receiver on a developer's machine). In production
    a host written as an address must not be :func:`forbidden`; a name is checked when it is
    resolved, at every delivery (:class:`GuardedNetwork`), and by :func:`check_resolved` when
    the target is saved."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetRefused(f"The target is not a valid URL: {error}.") from error
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        raise TargetRefused(f"The target must be an {' or '.join(allowed)} URL.")
    if not parts.hostname:
        raise TargetRefused("The target names no host.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("The target must not carry credentials; sign with the secret.")
    if port == 0:
        raise TargetRefused("The target's port must not be 0.")
    address = _address(parts.hostname)
    if production and address is not None and forbidden(address):
        raise TargetRefused(f"The target's address {address} is not reachable from outside.")
    return url


async def check_resolved(url: str, *, production: bool) -> None:
    """:func:`check_target`, then, in production, every address its host resolves to now."""
    check_target(url, production=production)
    if not production:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _address(host) is None:
        await _resolve(host, parts.port or 443, production=True)


def _address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def _lookup(host: str, port: int) -> list[Any]:
    """The resolver's answer (getaddrinfo), the one input the guard cannot choose."""
    return await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)


async def _resolve(host: str, port: int, *, production: bool) -> list[Address]:
    """The addresses ``host`` resolves to, all of them allowed (in production)."""
    try:
        found = await _lookup(host, port)
    except socket.gaierror as error:
        raise TargetRefused(f"The target's host {host} does not resolve: {error}.") from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
    refused = [address for address in addresses if forbidden(address)]
    if production and refused:
        # Every address is checked: one name resolving to a public and a private address is
        # refused, since which one a connection gets is not ours to choose.
        raise TargetRefused(
            f"The target's host {host} resolves to {refused[0]}, not reachable from outside."
        )
    return addresses


class GuardedNetwork(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, checking each address it connects to (in production):
    the name is resolved here, checked, and the connection made to that very address, so
    nothing can resolve it differently in between. TLS still verifies the name."""

    def __init__(self, *, production: bool) -> None:
        self.production = production
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = _address(host)
        if address is not None:
            if self.production and forbidden(address):
                raise TargetRefused(f"The target's address {address} is not reachable.")
            addresses = [address]
        else:
            addresses = await _resolve(host, port, production=self.production)
        # Each address in the resolver's order until one connects (a name may list an address
        # of a family the receiver does not listen on first); every one was checked above.
        for address in addresses[:-1]:
            try:
                return await self._connect(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError):
                continue
        return await self._connect(addresses[-1], port, timeout, local_address, socket_options)

    async def _connect(
        self,
        address: Address,
        port: int,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[Any] | None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_tcp(
            str(address),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("Webhooks are not delivered to sockets.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# --- one attempt -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one delivery attempt came to."""

    status: int | None
    """The receiver's status, None when there was no answer."""
    error: str | None
    """Why the attempt failed, in words (None when it succeeded)."""
    answer: bytes = b""
    """The start of the receiver's answer (up to MAX_ANSWER_BYTES)."""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver asks for no more (the endpoint is disabled)."""
        return self.status == 410


class Sender:
    """Delivers webhook requests over one guarded connection pool (a worker keeps one)."""

    def __init__(
        self,
        *,
        production: bool,
        timeout: float = TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.production = production
        self.timeout = timeout
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(),
            network_backend=GuardedNetwork(production=production),
            max_connections=50,
            keepalive_expiry=30.0,
            retries=0,
        )

    async def close(self) -> None:
        await self._pool.aclose()

    async def deliver(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        """POST ``body`` to ``url`` once. Never raises for what the receiver or the network
        does: a refused target, a timeout, a lost connection and a redirect are failed attempts,
        said in words."""
        try:
            check_target(url, production=self.production)
            async with asyncio.timeout(self.timeout):
                return await self._post(url, body, headers)
        except TargetRefused as refused:
            return Attempt(status=None, error=f"refused: {refused.detail}")
        except TimeoutError:
            return Attempt(status=None, error=f"no answer within {self.timeout:g} s")
        except httpcore.TimeoutException:
            return Attempt(status=None, error=f"no answer within {self.timeout:g} s")
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as error:
            return Attempt(status=None, error=f"{type(error).__name__}: {error}".strip(": "))

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        timeouts = dict.fromkeys(("connect", "read", "write", "pool"), self.timeout)
        async with self._pool.stream(
            "POST",
            url,
            headers=list(headers.items()),
            content=body,
            extensions={"timeout": timeouts},
        ) as response:
            answer = b""
            async for chunk in response.aiter_stream():
                answer += chunk
                if len(answer) >= MAX_ANSWER_BYTES:
                    break
        status = response.status
        answer = answer[:MAX_ANSWER_BYTES]
        if 300 <= status < 400:
            location = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers
            }.get("location", "")
            error = f"redirected to {location or '?'}; redirects are not followed"
            return Attempt(status, error, answer)
        if not 200 <= status < 300:
            return Attempt(status, f"answered {status}", answer)
        return Attempt(status, None, answer)
