"""What the notification tests share: a real HTTP server receiving webhooks on a free port of
127.0.0.1, and pilots' writes finishing tokens in CouchDB."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tokens_app.couch import get_gateway


class Receiver:
    """Records every POST body (decoded JSON); answers ``status``, after ``delay`` seconds."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 204
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(json.loads(body))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def finish(campaign, token_ids, *, at: float | None = None, exit_code: int | None = None) -> None:
    """Pilots finished these tokens at ``at`` (now by default), failing with ``exit_code`` if given."""
    at = time.time() if at is None else at
    gateway = get_gateway()
    docs = gateway.fetch_docs(campaign.database, token_ids)
    finished = {"lock": at - 10, "done": at, **({"exit_code": exit_code} if exit_code is not None else {})}
    gateway.bulk_docs(campaign.database, [{**doc, **finished} for doc in docs.values()])


def put_back(campaign, token_ids) -> None:
    """An operator's reset of these tokens (todo again)."""
    gateway = get_gateway()
    docs = gateway.fetch_docs(campaign.database, token_ids)
    gateway.bulk_docs(campaign.database, [{**doc, "lock": 0, "done": 0, "exit_code": None} for doc in docs.values()])
