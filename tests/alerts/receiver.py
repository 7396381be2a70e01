"""A local Slack-compatible webhook receiver that records posts and misbehaves on demand:
fail (503), refuse (400), redirect (302), answer slowly, or process the post and drop the
connection. It deduplicates on the Idempotency-Key header, as a careful receiver does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    url: str = ""
    fail_next: int = 0  # answer this many posts with 503 first
    mode: str = "ok"  # ok | refuse | redirect | slow | drop
    slow_seconds: float = 5.0
    received: list[dict] = field(default_factory=list)  # every post processed, duplicates included
    keys: list[str] = field(default_factory=list)  # the Idempotency-Key of each processed post
    attempts: int = 0

    @property
    def shown(self) -> dict[str, dict]:
        """What a deduplicating receiver shows: one message per key."""
        out: dict[str, dict] = {}
        for key, body in zip(self.keys, self.received, strict=True):
            out.setdefault(key, body)
        return out


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                state.attempts += 1
                failing = state.fail_next > 0
                if failing:
                    state.fail_next -= 1
            if failing or state.mode in ("refuse", "redirect"):
                code = 503 if failing else 400 if state.mode == "refuse" else 302
                self.send_response(code)
                if code == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with lock:  # processed: the message is in the channel whatever happens next
                state.received.append(json.loads(body))
                state.keys.append(self.headers.get("Idempotency-Key", ""))
            if state.mode == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if state.mode == "slow":
                time.sleep(state.slow_seconds)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self) -> None:  # where a followed redirect would land, without the alert
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}/services/T000/B000/XXXX"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
