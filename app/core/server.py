"""The HTTP server's own limits: how much of a request head it reads before the app sees it.

uvicorn parses with httptools, which bounds neither the request head nor its number of
header fields (16 MB of headers and 10,000 header lines were read and handed on), and answers
what it cannot parse (an unknown method, garbage) with a text/plain 400. This protocol is
uvicorn's with a bounded head, answering those cases with problem documents like the app's.
"""

import json
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX

#: The request line and headers together: a long list URL (8 KiB, the app's own bound, 414),
#: a bearer token and the usual headers fit many times over.
MAX_HEAD_BYTES = 32 * 1024
#: Header fields in one request (Apache's LimitRequestFields default).
MAX_HEADER_FIELDS = 100


def problem_bytes(status: int, code: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response carrying a problem document, closing the connection."""
    body = json.dumps(
        {
            "type": PROBLEM_TYPE_PREFIX + code,
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "code": code,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"content-type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head over MAX_HEAD_BYTES or with more
    than MAX_HEADER_FIELDS fields (431), and answering what it cannot parse with a problem
    document: an unknown method 501 (RFC 9110 §15.6.2), anything else 400."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0  # read since the message began, while in its head
        self._head_size = 0  # of its URL, names and values as parsed
        self._fields = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = self._fields = 0

    def on_url(self, url: bytes) -> None:
        self._grow(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        self._grow(len(name) + len(value))
        super().on_header(name, value)

    def _grow(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD_BYTES or self._fields > MAX_HEADER_FIELDS:
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, _HeadTooLarge):
                self._refuse_head()
            else:
                self._refuse(400, "bad_request", "The request is not valid HTTP.")
            return
        except httptools.HttpParserInvalidMethodError:
            self._refuse(501, "not_implemented", "The request method is not one this server knows.")
            return
        except httptools.HttpParserError:
            self._refuse(400, "bad_request", "The request is not valid HTTP.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._in_head:  # a head still arriving (one header sent slowly, byte by byte)
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()

    def _refuse_head(self) -> None:
        self._refuse(
            431,
            "request_header_fields_too_large",
            f"The request head is over {MAX_HEAD_BYTES} bytes or {MAX_HEADER_FIELDS} fields.",
        )

    def _refuse(self, status: int, code: str, detail: str) -> None:
        self.logger.warning("refused a request before the app: %s %s", status, detail)
        self.transport.write(problem_bytes(status, code, detail))
        self.transport.close()
