"""The HTTP API: REST under `/v1` and an OpenAI-compatible chat endpoint, over the same QAService."""

from qa.apps.http.app import create_api

__all__ = ["create_api"]
