"""The real server (`python app.py`) as a child process on a free loopback port, for the benchmarks."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from processes import stop as stop_server  # noqa: E402  (the tests' own: terminate, then kill after 15 s)

__all__ = ["ROOT", "start_server", "stop_server"]


def start_server(folder: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Serve a fresh index in `folder/index` (uploads in `folder/uploads`); the process and its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"QA_INDEX_DIR": str(folder / "index"), "QA_UPLOAD_DIR": str(folder / "uploads"), "QA_PORT": str(port)}
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env={**os.environ, **settings, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while f"docqa web chat: {url}" not in log_path.read_text():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit(log_path.read_text())
        time.sleep(0.2)
    return server, url
