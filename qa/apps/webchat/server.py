"""Starting the web chat: settings -> service -> ready index -> Gradio on loopback, no share link.

`python app.py` and `qa serve` both come here. Problems the user can fix (a busy port, a bad
login file, an unreadable index) end as one line on stderr and exit code 2, never a traceback.
"""

import logging
import sys
from pathlib import Path
from typing import Any

from qa.answering.factory import build_model
from qa.errors import ConfigError, QAError
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
    """Build the index if needed, then serve the chat and the `/ask` API, blocking."""
    from qa import offline

    offline.prepare()
    import gradio as gr

    from qa.apps.webchat.ui import build

    credentials = logins(settings)
    service = QAService.from_settings(settings)
    service.warm_up()
    page = build(answer_models(service)).queue(default_concurrency_limit=settings.web_concurrency)
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])  # system fonts: no font CDN
    try:
        page.launch(server_name=settings.host, server_port=settings.port, share=False, auth=credentials,
                    theme=theme, css=(_STATIC / "chat.css").read_text(encoding="utf-8"),
                    js=(_STATIC / "chat.js").read_text(encoding="utf-8"), footer_links=["api"],
                    ssr_mode=False, mcp_server=False, show_error=False, quiet=True, prevent_thread_lock=True)
    except OSError:
        raise ConfigError(f"Cannot serve on {settings.host}:{settings.port}: the port is in use or the "
                          "address is not this machine's.", hint="Pick another port with --port or QA_PORT.") from None
    print(f"docqa web chat: {page.local_url}  (Ctrl-C to stop)", flush=True)
    page.block_thread()


def answer_models(service: QAService) -> dict[str, QAService]:
    """The configured model first; with an LLM configured, the offline extractive one as well."""
    services = {service.model.name: service}
    if "extractive" not in services:
        offline = service.settings.model_copy(update={"llm": "extractive"})
        services["extractive"] = service.with_model(*build_model(offline, service.embedder))
    return services


def logins(settings: Settings) -> list[tuple[str, str]] | None:
    """The web chat's users from QA_AUTH ("user:password") and/or QA_AUTH_FILE (one per line)."""
    entries: list[tuple[str, str]] = []
    if settings.auth is not None:
        entries.append(_login(settings.auth.get_secret_value(), "QA_AUTH"))
    if settings.auth_file is not None:
        try:
            lines = settings.auth_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"Cannot read the login file {settings.auth_file}: {exc.strerror}") from None
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                entries.append(_login(line.strip(), f"{settings.auth_file} line {number}"))
        if not entries:
            raise ConfigError(f"The login file {settings.auth_file} lists no users.")
    return entries or None


def _login(entry: str, where: str) -> tuple[str, str]:
    user, sep, password = entry.partition(":")
    if not sep or not user.strip() or not password:
        raise ConfigError(f"{where}: a login must look like user:password.")
    return user.strip(), password
