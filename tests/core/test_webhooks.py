"""Webhook signing, target checks and delivery (app/core/webhooks.py), against a real HTTP
receiver on 127.0.0.1 that verifies each delivery with the specification's own library."""

import base64
import json
import socket
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.core import webhooks
from app.core.webhooks import Attempt, Sender, TargetRefused, check_resolved, check_target
from tests.receivers import Receiver


def _message(secrets_in_use: list[str]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"type": "item.matched", "timestamp": "2026-12-07T08:00:00Z", "data": {"n": 1}},
        ensure_ascii=False,
    ).encode()
    at = datetime.now(UTC)
    return body, webhooks.signed_headers(secrets_in_use, "msg_2Ldh6Qe0", at, body)


async def _deliver(
    url: str, secret: str, *, production: bool = False, timeout: float = webhooks.TIMEOUT_SECONDS
) -> Attempt:
    """One attempt at ``url`` of a message signed with ``secret``, by a sender of its own."""
    sender = Sender(production=production, timeout=timeout)
    try:
        body, headers = _message([secret])
        return await sender.deliver(url, body, headers)
    finally:
        await sender.close()


def test_the_signature_is_the_specifications_test_vector() -> None:
    at = datetime.fromtimestamp(1614265330, tz=UTC)
    signed = webhooks.signature(
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        at,
        b'{"test": 2432232314}',
    )
    assert signed == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_while_a_secret_rotates_both_verify_and_no_other_does() -> None:
    old, new, stranger = webhooks.new_secret(), webhooks.new_secret(), webhooks.new_secret()
    assert len({old, new, stranger}) == 3
    assert old.startswith("whsec_")
    assert len(base64.b64decode(old[6:])) == 32
    body, headers = _message([old, new])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "item.matched"
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # one byte changed
        Webhook(old).verify(body.replace(b"1", b"2"), headers)
    with pytest.raises(ValueError, match="at least one secret"):
        webhooks.signature([], "msg", datetime.now(UTC), body)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",  # plain http
        "ftp://hooks.example.com/in",
        "https:///in",  # no host
        "https://user:secret@hooks.example.com/in",
        "https://hooks.example.com:0/in",
        "https://hooks.example.com:99999/in",
        "https://127.0.0.1/in",
        "https://10.1.2.3/in",
        "https://192.168.0.10/in",
        "https://172.16.5.4/in",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://100.100.100.200/latest",  # shared address space (a cloud's metadata)
        "https://0.0.0.0/in",
        "https://224.0.0.1/in",
        "https://[::1]/in",
        "https://[fd00:ec2::254]/in",
        "https://[fe80::1]/in",
        "https://[::ffff:127.0.0.1]/in",  # IPv4 written as IPv6
    ],
)
def test_production_refuses_targets_on_this_side_of_the_network(url: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        check_target(url, production=True)
    assert refused.value.code == "webhook_target_refused"
    assert refused.value.status == 422


def test_public_https_targets_pass_and_http_passes_outside_production() -> None:
    for url in ("https://hooks.example.com/in", "https://93.184.216.34:8443/in?x=1"):
        assert check_target(url, production=True) == url
    assert check_target("http://127.0.0.1:8000/in", production=False)
    with pytest.raises(TargetRefused):
        check_target("ftp://127.0.0.1/in", production=False)


async def test_a_delivery_reaches_the_receiver_and_verifies(receiver: Receiver) -> None:
    body, _ = _message([receiver.secret])  # the message _deliver sends (its body is fixed)
    attempt = await _deliver(receiver.url("/ok"), receiver.secret)
    assert attempt.ok
    assert attempt.status == 204
    assert attempt.error is None
    assert receiver.paths() == ["/ok"]
    (_, got_headers, got_body) = receiver.received[0]
    assert got_body == body
    assert got_headers["webhook-id"] == "msg_2Ldh6Qe0"
    assert got_headers["content-type"] == "application/json"
    assert receiver.verified == [json.loads(body)]


async def test_a_wrong_secret_is_refused_by_the_receiver(receiver: Receiver) -> None:
    attempt = await _deliver(receiver.url("/ok"), webhooks.new_secret())
    assert not attempt.ok
    assert attempt.status == 400
    assert attempt.error == "answered 400"


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(receiver: Receiver) -> None:
    attempt = await _deliver(receiver.url("/redirect"), receiver.secret)
    assert not attempt.ok
    assert attempt.status == 302
    assert attempt.error is not None
    assert "not followed" in attempt.error
    assert receiver.paths() == ["/redirect"]  # /ok never reached


async def test_410_says_the_endpoint_is_gone(receiver: Receiver) -> None:
    attempt = await _deliver(receiver.url("/gone"), receiver.secret)
    assert attempt.gone
    assert not attempt.ok


async def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt(
    receiver: Receiver,
) -> None:
    started = time.monotonic()
    attempt = await _deliver(receiver.url("/slow"), receiver.secret, timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert attempt.status is None
    assert attempt.error == "no answer within 0.5 s"


async def test_nothing_listening_is_a_failed_attempt() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempt = await _deliver(f"http://127.0.0.1:{port}/in", webhooks.new_secret())
    assert attempt.status is None
    assert attempt.error
    assert "Connect" in attempt.error


async def test_a_name_is_tried_at_each_of_its_addresses_in_turn(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside production a name whose first address has nobody listening (127.0.0.2 here,
    often ::1 for localhost) is delivered at the next one."""

    async def lookup(host: str, port: int) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in ("127.0.0.2", "127.0.0.1")
        ]

    monkeypatch.setattr(webhooks, "_lookup", lookup)
    attempt = await _deliver(receiver.url("/ok", host="receiver.test"), receiver.secret)
    assert attempt.ok, attempt.error
    assert receiver.paths() == ["/ok"]


async def test_production_refuses_loopback_when_it_connects(receiver: Receiver) -> None:
    """A name that resolves to loopback (localhost, really resolved) and an address written as
    one are refused at delivery: nothing reaches the receiver."""
    by_name, by_address = [
        await _deliver(f"https://{host}:{receiver.port}/ok", receiver.secret, production=True)
        for host in ("localhost", "127.0.0.1")
    ]
    for attempt in (by_name, by_address):
        assert attempt.status is None
        assert attempt.error is not None
        assert attempt.error.startswith("refused:")
    assert receiver.received == []


async def test_dns_rebinding_between_the_check_and_the_delivery_is_refused(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name resolves to a public address when the target is saved and to loopback when
    the delivery connects: the connection is refused, since the guard checks the address it
    connects to. The resolver's answers are the test's input; the guard is the real one."""
    answers = iter(["93.184.216.34", "127.0.0.1"])

    async def lookup(host: str, port: int) -> list[Any]:
        address = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(webhooks, "_lookup", lookup)
    url = f"https://hooks.example.com:{receiver.port}/ok"
    await check_resolved(url, production=True)  # saved: public
    attempt = await _deliver(url, receiver.secret, production=True)
    assert attempt.status is None
    assert attempt.error is not None
    assert "127.0.0.1" in attempt.error
    assert receiver.received == []


async def test_a_name_with_one_private_address_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def lookup(host: str, port: int) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(webhooks, "_lookup", lookup)
    with pytest.raises(TargetRefused, match="10.0.0.7"):
        await check_resolved("https://hooks.example.com/in", production=True)
