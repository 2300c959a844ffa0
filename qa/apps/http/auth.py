"""Who may call the API: the web chat's logins (HTTP Basic) and bearer tokens (QA_API_KEYS / QA_API_KEYS_FILE).

With neither configured the API is open, which the server only allows on a loopback address.
"""

import base64
import binascii
import hmac

from fastapi import Request

from qa.apps.http.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="docqa", Bearer realm="docqa"'}


class Guard:
    """A FastAPI dependency: passes requests with a known login or token, answers 401 to the rest."""

    def __init__(self, logins: list[tuple[str, str]] | None, keys: list[str]):
        self._logins = [(user.encode(), password.encode()) for user, password in logins or []]
        self._keys = [key.encode() for key in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._logins or self._keys)

    def __call__(self, request: Request) -> None:
        if not self.enabled:
            return
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer" and _known(value.encode(), self._keys):
            return
        if scheme == "basic":
            user = self._basic(value)
            if user is not None:
                request.state.user = user  # notebooks are per user, as in the web chat
                return
        raise ApiError(
            401,
            "Authentication required: a valid login or API key.",
            "Send `Authorization: Bearer <key>` (QA_API_KEYS) or HTTP Basic with a web chat login.",
            headers=_CHALLENGE,
        )

    def _basic(self, value: str) -> str | None:
        """The user a Basic credential names, if it is one of the logins."""
        try:
            user, sep, password = base64.b64decode(value, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return None
        matches = [hmac.compare_digest(user, u) & hmac.compare_digest(password, p) for u, p in self._logins]
        return user.decode("utf-8", "replace") if sep and any(matches) else None


def _known(token: bytes, keys: list[bytes]) -> bool:
    """Compare against every key in constant time per key, so timing tells nothing about which one is close."""
    matches = [hmac.compare_digest(token, key) for key in keys]
    return any(matches)
