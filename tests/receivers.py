"""A webhook receiver on 127.0.0.1 for tests of delivery: a real HTTP server in a thread that
verifies what it receives with the Standard Webhooks specification's own library."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # workers open tens of connections at once; 5 would reset some
    daemon_threads = True


class Receiver:
    """/ok verifies the signature with ``secret`` (204, or 400 when it does not verify),
    /gone answers 410, /redirect 302 to /ok, /slow answers after 3 s, /flaky answers 500 to
    its first ``fail_first`` requests and then acts as /ok, /fail always answers 503."""

    def __init__(self, secret: str, *, fail_first: int = 0, delay: float = 0.0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.delay = delay
        """Seconds every answer waits (a receiver that takes its time)."""
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.verified: list[Any] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {key.lower(): value for key, value in self.headers.items()}
                status, extra = receiver.answer(self.path, headers, body)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.received.append((path, headers, body))
            if path == "/flaky" and self.fail_first > 0:
                self.fail_first -= 1
                return 500, {}
        if path in ("/ok", "/flaky"):
            try:
                verified = Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError:
                return 400, {}
            with self._lock:
                self.verified.append(verified)
            return 204, {}
        if path == "/gone":
            return 410, {}
        if path == "/redirect":
            return 302, {"Location": "/ok"}
        if path == "/fail":
            return 503, {}
        if path == "/slow":
            time.sleep(3)
        return 204, {}

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.received]

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
