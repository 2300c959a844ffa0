"""A real Chroma server (`chroma run`) in a child process on loopback, for the tests that use one."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from processes import stop


def _wait_for_heartbeat(url: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no Chroma heartbeat at {url} within {seconds} s")


def start_chroma(path: Path, port: int) -> tuple[str, subprocess.Popen]:
    """`chroma run` on loopback at `port` over the folder `path`, telemetry off, once it answers."""
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY_IMPL": "none"}
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_heartbeat(url, proc, seconds=60)
    except BaseException:
        stop(proc, seconds=10)
        raise
    return url, proc
