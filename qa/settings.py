"""One typed settings object: defaults < config file (TOML) < `QA_*` environment < arguments.

The config file is `qa.toml` in the working directory, or the file named by `QA_CONFIG`.
Every component receives the values it needs from here through its constructor.
"""

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from qa.errors import ConfigError

DEFAULT_CONFIG_FILE = "qa.toml"
MAX_TOP_K = 50  # passages a question may ask for (the web chat's slider, the API and settings alike)
# Below this many sentences an exact in-process search beats a Chroma query (bench/exact_search.py)
EXACT_SEARCH_SENTENCES = 2000


class Settings(BaseSettings):
    """Everything that can be configured, with the defaults that serve the bundled article."""

    # env_prefix_target="all": an alias is read from the environment with the prefix too (QA_LLM, not LLM)
    model_config = SettingsConfigDict(
        env_prefix="QA_", env_prefix_target="all", extra="forbid", validate_assignment=True
    )

    config: Path | None = Field(None, description="TOML config file (default: ./qa.toml if present)")
    documents: list[Path] = Field([Path("seeds")], description="Files or folders to ingest")
    index_dir: Path = Field(Path("index"), description="Where the persistent Chroma store and the record cache live")
    chroma_url: str | None = Field(None, description="A Chroma server (http://host:port) instead of index_dir")
    collection: str = Field("docqa", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}[a-zA-Z0-9]$")
    auto_ingest: bool = Field(True, description="Build the index on first use when it is empty")
    refresh_seconds: float = Field(
        1.0,
        ge=0,
        description="How often a running service checks whether another process changed the index, and "
        "reloads it if so (0: never)",
    )

    embedder: Literal["multilingual-e5-small"] = "multilingual-e5-small"
    embed_threads: int = Field(2, ge=1, le=64)
    embed_url: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description="OpenAI-compatible embedding servers (API bases ending in /v1) to embed with instead of "
        "the local engine: one URL, or a JSON list whose servers share the batches",
    )
    embed_model: str = Field(
        "multilingual-e5-small",
        min_length=1,
        description="Model name sent to the embedding servers (the vectors must still be those of `embedder`)",
    )
    embed_api_key: SecretStr = Field(
        SecretStr(""), description="API key for the embedding servers; local servers need none"
    )
    embed_timeout: float = Field(30.0, gt=0.0, le=3600.0, description="Seconds to wait for an embedding server")
    embed_max_retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Retries of a batch on connection errors, "
        "timeouts, 429 and 5xx (the next server takes it when there are several)",
    )
    chunk_size: int = Field(128, ge=32, le=2048, description="Chunk size in cl100k tokens")
    chunk_overlap: int = Field(16, ge=0, le=512)
    max_file_bytes: int = Field(20_000_000, ge=1, description="Larger files are refused")
    follow_links: bool = Field(False, description="Ingest files that symbolic links inside a folder lead to outside it")

    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="Chunks passed to the answer model")
    dense_candidates: int = Field(256, ge=1, le=1000, description="Sentences fetched from Chroma")
    exact_search_sentences: int = Field(
        EXACT_SEARCH_SENTENCES,
        ge=0,
        description="A question over at most this many sentences is searched exactly in process "
        "instead of through Chroma's approximate index (faster there, and it misses nothing); "
        "not with chroma_url, where every question asks the server",
    )
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="Dense share of the score with fusion=weighted")
    fusion: Literal["learned", "weighted", "rrf"] | None = Field(
        None,
        description="How dense and BM25 scores combine: the fitted model, a weighted mix, or reciprocal rank "
        "(default: the one the evidence ranker was made with: learned for learned and learned-read, weighted for "
        "rules, vetoed and read)",
    )
    evidence: Literal["rules", "learned", "vetoed", "read", "learned-read"] = Field(
        "read",
        description="How the answering sentence is picked and the answer-or-refuse decision made: "
        "the hand-set rules, the model fitted on data (qa/models/evidence.json), the rules with a veto "
        "(refuse also when that model's best run is below the threshold in qa/models/veto.json), the rules "
        "with the reader's veto (the default: refuse also when the reader, qa/models/reader.onnx, reads their "
        "run as not stating the answer), or the learned model's best runs re-read by the reader",
    )
    evidence_chunks: int = Field(10, ge=1, le=50, description="Best chunks whose sentence runs are candidate evidence")
    answer_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Answer when the best run's probability reaches this (default: the "
        "evidence model's own, chosen on a dev split); higher refuses more",
    )

    model: Literal["extractive", "openai-compatible"] = Field(
        "extractive",
        # `llm` / QA_LLM was this setting's name before it took the word the CLI, web chat and API use;
        # still read so existing configs keep working (deprecated in the README)
        validation_alias=AliasChoices("model", "llm"),
        description="Answer model: the offline extractive one, or an OpenAI-compatible server (llm_* settings)",
    )
    llm_base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible API base (ends in /v1)")
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key; local servers need none")
    llm_model: str = Field("", description="Model name the server knows (required with openai-compatible)")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    llm_timeout: float = Field(60.0, gt=0.0, le=3600.0, description="Seconds to wait for the server")
    llm_max_tokens: int = Field(512, ge=16, le=32_768, description="Longest answer, in tokens")
    llm_max_retries: int = Field(1, ge=0, le=10, description="Retries on connection errors, 429 and 5xx")
    llm_fallback: bool = Field(
        True, description="Answer with the extractive model when the LLM fails or nothing in its answer is supported"
    )
    llm_condense: bool = Field(True, description="Let the LLM rewrite follow-up questions before retrieval")
    max_answer_sentences: int = Field(1, ge=1, le=5)

    max_question_chars: int = Field(2000, ge=10, le=100_000)

    host: str = Field("127.0.0.1", description="Web chat address; loopback unless you open it up")
    port: int = Field(7860, ge=1, le=65535, description="Web chat port")
    auth: SecretStr | None = Field(None, description="Web chat login as user:password")
    auth_file: Path | None = Field(None, description="File of user:password lines for the web chat")
    web_concurrency: int = Field(4, ge=1, le=64, description="Questions the web chat answers at once")
    api_keys: SecretStr | None = Field(None, description="Bearer tokens the HTTP API accepts, comma-separated")
    api_keys_file: Path | None = Field(None, description="File of HTTP API bearer tokens, one per line")
    cors_origins: list[str] = Field([], description="Browser origins allowed to call the HTTP API (none by default)")
    upload_dir: Path = Field(
        Path("uploads"),
        description="Where documents uploaded over HTTP are kept (their citations point into these files)",
    )
    max_upload_files: int = Field(20, ge=1, le=1000, description="Files one upload may carry")
    max_documents: int = Field(1000, ge=1, description="Documents an upload may bring a collection (notebook) to")
    max_upload_bytes: int = Field(
        500_000_000, ge=1, description="Bytes of uploaded files one collection (notebook) may keep"
    )
    max_text_chars: int = Field(
        20_000_000,
        ge=1000,
        description="Longest text a document may expand to (a PDF or DOCX that unpacks to more is refused)",
    )
    examples: list[str] = Field(
        [
            "When did Xiaomi's market value pass HK$1 trillion?",
            "Who bought Joyo.com?",
            "How big is Xiaomi's tech campus?",
            "How old was Lei Jun when he joined Kingsoft?",
        ],
        description="Example questions the web chat offers",
    )

    @field_validator("embed_url", mode="before")
    @classmethod
    def _embed_urls(cls, value: Any) -> Any:
        """QA_EMBED_URL holds one URL or a JSON list of them; each must be an http(s) address."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValueError("not a JSON list of URLs") from None
            else:
                value = [text] if text else None
        if not value:
            return None
        if not isinstance(value, list | tuple) or not all(isinstance(url, str) for url in value):
            raise ValueError("give one URL or a list of URLs")
        urls = []
        for url in value:
            parts = urlsplit(url.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                shown = url.strip() if "@" not in url else f"{url.split('@')[-1]} (user info hidden)"
                raise ValueError(f"{shown!r} is not an http(s)://host[:port]/v1 address")
            urls.append(url.strip().rstrip("/"))
        return list(dict.fromkeys(urls))

    @property
    def exact_search_limit(self) -> int:
        """`exact_search_sentences`, or 0 with a Chroma server: a question there always asks the server, so
        that one that is down is reported (`IndexUnavailable`), not hidden behind the last snapshot."""
        return 0 if self.chroma_url else self.exact_search_sentences

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, value: int, info: Any) -> int:
        size = info.data.get("chunk_size", 128)
        if value >= size:
            raise ValueError(f"chunk_overlap ({value}) must be smaller than chunk_size ({size})")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments beat the environment, which beats the config file, which beats defaults."""
        config_file = _config_file(init_settings, env_settings)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def _config_file(*sources: PydanticBaseSettingsSource) -> Path | None:
    """The config file named by an argument or QA_CONFIG, else ./qa.toml when it exists."""
    for source in sources:
        named = source().get("config")
        if named:
            path = Path(named)
            if not path.is_file():
                raise ConfigError(f"Config file not found: {path}")
            return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation failures into one readable ConfigError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"Invalid settings: {problems}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Invalid config file: {exc}") from None
