"""Starting the server: settings -> service -> ready index -> one app serving the web chat, Gradio's
`/ask` and the HTTP API (`/v1`, `/docs`) on one port, loopback by default, no share link.

`python app.py` and `qa serve` both come here. Problems the user can fix (a busy port, a bad
login file, an unreadable index, an open address without a login) end as one line on stderr and
exit code 2, never a traceback.
"""

import ipaddress
import logging
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from qa.apps.logins import api_keys, logins
from qa.apps.models import answer_models
from qa.errors import ConfigError, QAError
from qa.notebooks import Notebooks
from qa.service import QAService
from qa.settings import Settings, load_settings

log = logging.getLogger(__name__)

_STATIC = Path(__file__).with_name("static")
EXIT_ERROR = 2


def main(**overrides: Any) -> int:
    """Serve until interrupted; the exit code for the shell."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        serve(load_settings(**{k: v for k, v in overrides.items() if v is not None}))
    except QAError as exc:
        print(f"qa: error: {exc.user_message()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 0
    return 0


def serve(settings: Settings) -> None:
    """Build the index if needed, then serve the chat and the APIs, blocking."""
    from qa import offline

    offline.prepare()
    import gradio as gr
    import uvicorn

    from qa.apps.http import create_api
    from qa.apps.http.auth import Guard
    from qa.apps.webchat.ui import build

    credentials, keys = logins(settings), api_keys(settings)
    if not credentials and not is_loopback(settings.host):
        raise ConfigError(
            f"Serving on {settings.host} would let anyone on the network in: there is no login.",
            hint="Set QA_AUTH or QA_AUTH_FILE, or serve on 127.0.0.1.",
        )
    listener = _bind(settings.host, settings.port)
    service = QAService.from_settings(settings)
    service.warm_up()
    services = answer_models(service)
    notebooks = Notebooks(services, default_read_only=bool(credentials))
    app = create_api(services, Guard(credentials, keys), settings.cors_origins, notebooks)
    page = build(services, notebooks).queue(default_concurrency_limit=settings.web_concurrency)
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )  # system fonts: no font CDN
    app = gr.mount_gradio_app(
        app,
        page,
        path="",
        auth=credentials,
        theme=theme,
        css=(_STATIC / "chat.css").read_text(encoding="utf-8"),
        js=(_STATIC / "chat.js").read_text(encoding="utf-8"),
        footer_links=["api"],
        ssr_mode=False,
        mcp_server=False,
        show_error=False,
        max_file_size=settings.max_file_bytes,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True, name="http")
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise ConfigError("The server stopped while starting; the log above says why.")
        time.sleep(0.05)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(
        f"docqa web chat: http://{host}:{listener.getsockname()[1]}/  (API: /v1, docs: /docs; Ctrl-C to stop)",
        flush=True,
    )
    try:
        while thread.is_alive():
            thread.join(0.5)
    finally:
        server.should_exit = True
        thread.join(10)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the index loads, so a busy port fails fast and clearly."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError:
        raise ConfigError(
            f"Cannot serve on {host}:{port}: the port is in use or the address is not this machine's.",
            hint="Pick another port with --port or QA_PORT.",
        ) from None
    return listener
