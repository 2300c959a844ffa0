"""A real Chroma server (`chroma run`) in a child process on loopback, for the tests that use one."""

import os
import subprocess
import sys
from pathlib import Path

from processes import stop, wait_until_answering


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
        wait_until_answering(f"{url}/api/v2/heartbeat", proc, 60, "chroma run")
    except BaseException:
        stop(proc, seconds=10)
        raise
    return url, proc
