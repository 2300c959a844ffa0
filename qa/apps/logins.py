"""Who may use the web chat and the API: logins from QA_AUTH and QA_AUTH_FILE, bearer tokens from
QA_API_KEYS and QA_API_KEYS_FILE. A bad file is a ConfigError at start-up, never a silent open door."""

from qa.errors import ConfigError
from qa.settings import Settings


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


def api_keys(settings: Settings) -> list[str]:
    """The bearer tokens from QA_API_KEYS (comma-separated) and QA_API_KEYS_FILE (one per line, # comments)."""
    keys: list[str] = []
    if settings.api_keys is not None:
        keys += [k.strip() for k in settings.api_keys.get_secret_value().split(",") if k.strip()]
    if settings.api_keys_file is not None:
        try:
            lines = settings.api_keys_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read the API key file {settings.api_keys_file}: {exc}") from None
        keys += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return keys
