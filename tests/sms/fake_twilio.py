"""A local fake of Twilio's Messages API, so the real `twilio` client can be driven end to end on loopback.

It records every request and answers what the test scripts: 201 by default, or 400 with a Twilio error code, 429,
500 … one scripted answer per request, in order.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

SID, TOKEN = "AC" + "1" * 32, "secret-token"  # the test account the fake is driven with


@dataclass
class FakeTwilio:
    requests: list[dict] = field(default_factory=list)
    script: list[tuple[int, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int, code: int | None = None, message: str = "") -> None:
        body = {"code": code, "message": message or f"error {code}", "status": status} if status >= 400 else {}
        self.script.append((status, body))

    def next_answer(self, form: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append({"at": time.monotonic(), **form})
            if self.script:
                return self.script.pop(0)
        sid = "SM" + uuid.uuid4().hex
        return 201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")}


def start_fake_twilio() -> tuple[ThreadingHTTPServer, FakeTwilio, str]:
    fake = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            form["_path"] = self.path
            form["_auth"] = self.headers.get("Authorization", "")
            status, body = fake.next_answer(form)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, fake, f"http://127.0.0.1:{server.server_address[1]}"
