"""A recording HTTP proxy in front of the session's CouchDB, for the path tests.

It listens on a free port of 127.0.0.1 in a thread of the test process, writes down the method
and the request target exactly as they arrived on the wire (before any decoding), and forwards
the request unchanged to the real server. Tests point the portal at it and then check what
CouchDB was asked for, not only what the portal answered.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

# Hop-by-hop headers: they describe one connection and are not forwarded.
_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class RecordingProxy:
    def __init__(self, upstream: str):
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RecordingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def clear(self) -> None:
        self.requests.clear()

    def _handler(self):
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                proxy.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_HEADERS}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_HEADERS:
                        self.send_header(name, value)
                self.send_header("Content-Length", answer.getheader("Content-Length", "0")
                                 if self.command == "HEAD" else str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_COPY = forward

            def log_message(self, format, *args):
                pass

        return Forward


def segments(target: str) -> tuple[str, ...]:
    """The decoded segments of a raw request target (``()`` for the server root)."""
    path = urlsplit(target).path
    if path == "/":
        return ()
    return tuple(unquote(segment) for segment in path.split("/")[1:])


def raw_segments(target: str) -> list[str]:
    path = urlsplit(target).path
    return [] if path == "/" else path.split("/")[1:]
