"""The LLM backend: any server speaking OpenAI chat completions (OpenAI, vLLM, Ollama, llama.cpp).

The answer streams sentence by sentence: a sentence is shown once it is complete and its
citations are verified (see verify.py), so a `[n]` on screen always points at a real passage.
Server failures become ModelUnavailable, whose message names the server but never the key;
with `fallback`, they (and answers nothing supports) are answered by the extractive model.
"""

import logging
import threading
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import urlsplit

import httpx2
import openai
from pydantic import SecretStr

from qa.answering.base import Context
from qa.answering.citations import CitationList, with_markers
from qa.answering.extractive import ExtractiveModel, looked_at, refusal
from qa.answering.llm.markers import MarkerParser
from qa.answering.llm.prompt import answer_messages
from qa.answering.llm.sentences import SentenceStream
from qa.answering.llm.verify import Scorer, Verifier, VerifyStats, excerpt_units
from qa.errors import ModelUnavailable
from qa.index.embedding import Embedder
from qa.reply import REFUSAL, Delta, Reply

log = logging.getLogger(__name__)


def safe_url(url: str) -> str:
    """The URL without user info or query, fit for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class ChatClient:
    """A thin, failure-translating wrapper around the `openai` client."""

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr,
        model: str,
        temperature: float = 0.0,
        timeout: float = 60.0,
        max_tokens: int = 512,
        max_retries: int = 1,
    ):
        self.url = safe_url(base_url)
        self.model = model
        self._temperature = temperature
        self._timeout = timeout
        self._max_tokens = max_tokens
        # Local servers take any key; the client insists on one.
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key.get_secret_value() or "not-needed",
            timeout=timeout,
            max_retries=max_retries,
        )

    def stream(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> Iterator[str]:
        """The text of the reply as it arrives."""
        response: Any = None
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=cast(Any, messages),
                stream=True,
                temperature=self._temperature,
                max_tokens=max_tokens or self._max_tokens,
            )
            for chunk in response:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.APIConnectionError as exc:
            if response is None or isinstance(exc, openai.APITimeoutError):
                raise self._unavailable(exc) from None
            raise self._stopped(exc) from None
        except openai.OpenAIError as exc:
            raise self._unavailable(exc) from None
        except (httpx2.HTTPError, httpx2.StreamError, OSError) as exc:
            raise self._stopped(exc) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelUnavailable(
                f"The model server at {self.url} sent a malformed stream ({type(exc).__name__})."
            ) from None
        finally:
            if response is not None:
                response.close()

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 64) -> str:
        return "".join(self.stream(messages, max_tokens))

    def _stopped(self, exc: Exception) -> ModelUnavailable:
        return ModelUnavailable(
            f"The model server at {self.url} stopped in the middle of the answer ({type(exc).__name__}).",
            hint="Check that the server is running, then ask again.",
        )

    def _unavailable(self, exc: openai.OpenAIError) -> ModelUnavailable:
        """One clear message per kind of failure; the server's own text is left out (it may echo headers)."""
        where = f"The model server at {self.url}"
        if isinstance(exc, openai.APITimeoutError):
            return ModelUnavailable(
                f"{where} did not answer within {self._timeout:g} s.",
                hint="Raise QA_LLM_TIMEOUT, or use a smaller model.",
            )
        if isinstance(exc, openai.APIConnectionError):
            return ModelUnavailable(
                f"{where} cannot be reached (connection refused or dropped).",
                hint="Start the server, or check QA_LLM_BASE_URL.",
            )
        status = getattr(exc, "status_code", None)
        if status in (401, 403):
            return ModelUnavailable(f"{where} rejected the API key (HTTP {status}).", hint="Check QA_LLM_API_KEY.")
        if status == 404:
            return ModelUnavailable(
                f"{where} does not know model {self.model!r} (HTTP 404).",
                hint="Check QA_LLM_MODEL and QA_LLM_BASE_URL (it usually ends in /v1).",
            )
        if status == 429:
            return ModelUnavailable(
                f"{where} is rate-limiting requests (HTTP 429).", hint="Wait and retry, or check the account's quota."
            )
        if status is not None:
            return ModelUnavailable(f"{where} failed (HTTP {status}).")
        return ModelUnavailable(f"{where} sent a malformed or broken stream ({type(exc).__name__}).")


class OpenAICompatibleModel:
    """Answers with an LLM from the numbered excerpts; shows only verified, renumbered citations."""

    name = "openai-compatible"

    def __init__(
        self, client: ChatClient, embedder: Embedder, fallback: bool = True, extractive: ExtractiveModel | None = None
    ):
        self.client = client
        self._embedder = embedder
        self._fallback = fallback
        self._extractive = extractive or ExtractiveModel()
        self._local = threading.local()  # last_stats is per thread: the web chat answers several at once
        self.totals = VerifyStats()
        self._totals_lock = threading.Lock()  # the web chat answers several questions at once

    @property
    def last_stats(self) -> VerifyStats:
        """What the verifier did to the last answer streamed on this thread."""
        return getattr(self._local, "stats", VerifyStats())

    def stream(self, context: Context) -> Iterator[Delta | Reply]:
        """Verified sentences as they complete; before any is shown, failures may fall back."""
        self._local.stats = VerifyStats()
        shown = False
        try:
            for event in self._answer(context):
                shown = shown or isinstance(event, Delta)
                yield event
        except ModelUnavailable as exc:
            if shown or not self._fallback:
                raise
            log.warning("%s Answering with the extractive model.", exc)
            yield from self._extractive.stream(context)

    def _answer(self, context: Context) -> Iterator[Delta | Reply]:
        if not context.chunks:
            yield Delta(REFUSAL)
            yield refusal(context)
            return
        cites = CitationList(context.corpus)
        excerpts = excerpt_units(context.corpus, context.chunks)
        verifier = Verifier(Scorer(context.corpus, self._embedder), excerpts, cites, context.ranking)
        parser, sentences = MarkerParser(), SentenceStream()
        parts: list[str] = []
        for text in self.client.stream(answer_messages(context)):
            for claim in sentences.feed(parser.feed(text)):
                yield from self._show(claim, verifier, parts)
        for claim in sentences.feed(parser.close()) + sentences.close():
            yield from self._show(claim, verifier, parts)
        self._record(verifier.stats)
        if parts:
            yield Reply(
                "".join(parts),
                True,
                cites.citations,
                context.question,
                context.retrieval.query.search,
                looked_at(context),
            )
        elif verifier.stats.refusals or not self._fallback:
            yield Delta(REFUSAL)
            yield refusal(context)
        else:
            log.info("no sentence of the LLM answer is supported: answering with the extractive model")
            yield from self._extractive.stream(context)

    @staticmethod
    def _show(claim, verifier: Verifier, parts: list[str]) -> Iterator[Delta]:
        numbers = verifier.verify(claim)
        if numbers is None:
            return
        text = with_markers(claim.text, list(dict.fromkeys(numbers)))
        part = text if not parts else ("\n" if claim.newline else " ") + text
        parts.append(part)
        yield Delta(part)

    def _record(self, stats: VerifyStats) -> None:
        self._local.stats = stats
        with self._totals_lock:
            self.totals.add(stats)
        log.info(
            "citations: %d written, %d kept, %d dropped, %d repaired, %d added; %d of %d sentences unsupported",
            stats.markers,
            stats.kept,
            stats.dropped,
            stats.repaired,
            stats.added,
            stats.unsupported_sentences,
            stats.sentences,
        )
