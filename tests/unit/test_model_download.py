"""The hub download path, against a local stand-in for a hub mirror (HF_ENDPOINT)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support import ROOT
from wordsim.model.source import standin_folder

REPO = "clue/albert_chinese_tiny"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hub_handler(files: dict[str, bytes], seen: list[str]):
    class Hub(BaseHTTPRequestHandler):
        """Just enough of the hub's API for ``snapshot_download``."""

        def log_message(self, *args) -> None:
            seen.append(self.path)

        def _json(self, obj) -> None:
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _file(self, with_body: bool) -> None:
            name = self.path.split("/resolve/", 1)[1].split("/", 1)[1].split("?")[0]
            data = files.get(name)
            if data is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if with_body:
                self.wfile.write(data)

        def do_HEAD(self) -> None:
            self._file(False)

        def do_GET(self) -> None:
            if "/tree/" in self.path:
                self._json(
                    [
                        {"type": "file", "path": n, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                        for n, d in files.items()
                    ]
                )
            elif self.path.startswith(f"/api/models/{REPO}"):
                self._json({"id": REPO, "sha": COMMIT, "siblings": [{"rfilename": n} for n in files]})
            else:
                self._file(True)

    return Hub


@pytest.fixture
def mirror():
    files = {p.name: p.read_bytes() for p in standin_folder().iterdir() if p.is_file()}
    seen: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), hub_handler(files, seen))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_download_from_hf_endpoint_mirror_into_model_dir(mirror, tmp_path):
    url, seen = mirror
    model_dir = tmp_path / "albert_chinese_tiny"
    code = (
        "from config import load_settings; from wordsim.model.source import resolve_model;"
        f"s = resolve_model(load_settings(environ={{}}, model_dir={str(model_dir)!r}));"
        "print(s.name, s.is_standin, s.path)"
    )
    # HF_ENDPOINT is read when huggingface_hub is imported: set it for a fresh process.
    env = {**os.environ, "HF_ENDPOINT": url, "HF_HOME": str(tmp_path / "hf_home")}
    env.pop("HF_HUB_OFFLINE", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [REPO, "False", str(model_dir.resolve())]
    assert (model_dir / "pytorch_model.bin").read_bytes() == (
        standin_folder() / "pytorch_model.bin"
    ).read_bytes()
    assert any(p.startswith(f"/api/models/{REPO}") for p in seen)
    assert "STAND-IN" not in done.stderr
