"""Models fitted on data, loaded from small JSON files: logistic regression or boosted trees.

The files live in `qa/models/` with their provenance (data, splits, seed, dev figures) and are
written by `bench/train_ranker.py`; nothing is fitted at run time, and nothing is unpickled. Each
file names its features in order; loading checks them against the code that computes them, so a
model can never be fed columns it was not fitted on.
"""

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ConfigError

FORMAT = "docqa-learned-model"
VERSION = 1
MODELS = Path(__file__).resolve().parents[1] / "models"


@dataclass(frozen=True)
class Trees:
    """Flat arrays of one regression tree; a sample goes left when x[feature] <= threshold."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    leaf: np.ndarray


@dataclass(frozen=True)
class _Forest:
    """All trees' nodes in flat arrays, numbered across trees, with each leaf a node that loops to itself
    (it sends every value left, to itself): a batch of rows then walks all trees at once, `depth` steps,
    with one gather per array a step and no test for having reached a leaf."""

    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    depth: int

    @classmethod
    def of(cls, trees: tuple[Trees, ...]) -> "_Forest":
        offsets = np.cumsum([0] + [len(t.leaf) for t in trees])
        roots = offsets[:-1].astype(np.int64)
        leaf = np.concatenate([t.leaf for t in trees]).astype(bool)
        own = np.arange(offsets[-1], dtype=np.int64)
        left = np.concatenate([t.left + o for t, o in zip(trees, roots)]).astype(np.int64)
        right = np.concatenate([t.right + o for t, o in zip(trees, roots)]).astype(np.int64)
        return cls(
            roots,
            np.where(leaf, 0, np.concatenate([t.feature for t in trees])).astype(np.int64),
            np.where(leaf, np.inf, np.concatenate([t.threshold for t in trees])).astype(np.float64),
            np.where(leaf, own, left),
            np.where(leaf, own, right),
            np.concatenate([t.value for t in trees]).astype(np.float64),
            max(_depth(t) for t in trees) if trees else 0,
        )


def _depth(tree: Trees) -> int:
    """Edges on the longest path from the root (node 0) to a leaf."""
    deepest, level = 0, [(0, 0)]
    while level:
        node, depth = level.pop()
        if tree.leaf[node]:
            deepest = max(deepest, depth)
        else:
            level += [(int(tree.left[node]), depth + 1), (int(tree.right[node]), depth + 1)]
    return deepest


@dataclass(frozen=True)
class LearnedModel:
    """A fitted scorer: `probability(X)` for rows of `features`; `threshold` when it decides."""

    name: str
    features: tuple[str, ...]
    kind: str
    params: dict[str, Any]
    threshold: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    trees: tuple[Trees, ...] = ()
    reference: tuple[float, ...] = ()

    def margin(self, x: np.ndarray) -> np.ndarray:
        """The raw score (log-odds) of each row."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.features))
        if self.kind == "logistic":
            z = (x - self.params["mean"]) / self.params["scale"]
            # summed row by row, not by a matrix product, whose rounding depends on how many rows it is given:
            # a row scores the same alone as among all chunks (`fusion.candidate_rows` relies on it)
            return np.asarray((z * self.params["coef"]).sum(axis=1) + self.params["intercept"])
        forest = self._forest
        node = np.repeat(forest.roots[:, None], len(x), axis=1)  # (trees, rows): every row starts at each root
        rows = np.arange(len(x))[None, :]
        for _ in range(forest.depth):
            go_left = x[rows, forest.feature[node]] <= forest.threshold[node]
            node = np.where(go_left, forest.left[node], forest.right[node])
        return float(self.params["baseline"]) + forest.value[node].sum(axis=0)

    @cached_property
    def _forest(self) -> "_Forest":
        return _Forest.of(self.trees)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.margin(x)))

    def contributions(self, row: np.ndarray) -> np.ndarray:
        """How much each feature moves this row's log-odds away from a typical training row: exact
        for logistic regression; for trees, the change when that feature alone takes its typical value."""
        row = np.asarray(row, dtype=np.float64)
        reference = np.asarray(self.reference, dtype=np.float64) if self.reference else np.zeros_like(row)
        if self.kind == "logistic":
            return np.asarray((row - reference) / self.params["scale"] * self.params["coef"])
        swapped = np.repeat(row[None, :], len(row), axis=0)
        swapped[np.arange(len(row)), np.arange(len(row))] = reference
        return self.margin(row[None, :])[0] - self.margin(swapped)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "type": self.kind,
            "features": list(self.features),
            "threshold": self.threshold,
            "reference": [float(v) for v in self.reference],
            "provenance": self.provenance,
        }
        if self.kind == "logistic":
            data["logistic"] = {k: np.asarray(v).tolist() if np.ndim(v) else float(v) for k, v in self.params.items()}
        else:
            data["trees"] = {
                "baseline": float(self.params["baseline"]),
                "trees": [
                    {k: getattr(t, k).tolist() for k in ("feature", "threshold", "left", "right", "value", "leaf")}
                    for t in self.trees
                ],
            }
        return data

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


def from_json(data: dict[str, Any]) -> LearnedModel:
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ValueError(f"not a {FORMAT} v{VERSION} file")
    kind = data["type"]
    features = tuple(data["features"])
    if kind == "logistic":
        p = data["logistic"]
        params = {
            "mean": np.asarray(p["mean"]),
            "scale": np.asarray(p["scale"]),
            "coef": np.asarray(p["coef"]),
            "intercept": float(p["intercept"]),
        }
        return LearnedModel(
            data["name"],
            features,
            kind,
            params,
            data.get("threshold"),
            data.get("provenance", {}),
            reference=tuple(data.get("reference", ())),
        )
    if kind == "boosted-trees":
        trees = tuple(
            Trees(
                np.asarray(t["feature"], dtype=np.int64),
                np.asarray(t["threshold"], dtype=np.float64),
                np.asarray(t["left"], dtype=np.int64),
                np.asarray(t["right"], dtype=np.int64),
                np.asarray(t["value"], dtype=np.float64),
                np.asarray(t["leaf"], dtype=bool),
            )
            for t in data["trees"]["trees"]
        )
        return LearnedModel(
            data["name"],
            features,
            kind,
            {"baseline": float(data["trees"]["baseline"])},
            data.get("threshold"),
            data.get("provenance", {}),
            trees,
            tuple(data.get("reference", ())),
        )
    raise ValueError(f"unknown model type {kind!r}")


def load(name: str, features: tuple[str, ...], folder: Path = MODELS) -> LearnedModel:
    """The shipped model `name`, checked against the features the code computes."""
    path = folder / f"{name}.json"
    try:
        model = from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"Cannot load the {name} model from {path}: {exc}",
            hint="Reinstall docqa, or rebuild it with `python bench/train_ranker.py`.",
        ) from None
    if model.features != features:
        raise ConfigError(
            f"The {name} model at {path} was fitted on other features than this code computes.",
            hint="Rebuild it with `python bench/train_ranker.py`.",
        )
    return model
