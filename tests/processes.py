"""Helpers for tests that run real servers in child processes: a free loopback port, waiting until one
answers, a clean stop."""

import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen, seconds: float = 15) -> None:
    """Terminate the child, and kill it if it does not end within `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


def wait_until_answering(url: str, proc: subprocess.Popen, seconds: float, name: str) -> None:
    """Poll `url` until it answers 200; RuntimeError if the child `name` exits first or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer at {url} within {seconds} s")
