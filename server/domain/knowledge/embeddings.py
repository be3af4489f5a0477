"""Text embeddings behind one interface: the bundled local ONNX model, or OpenAI's API.

The model name and dimension travel with every vector (they are stored next to the chunks), so vectors of two models
are never mixed: switching ``TECHPAL_EMBEDDINGS`` asks for ``techpal-server kb reembed``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "DIMENSION",
    "LOCAL_MODEL_NAME",
    "MODEL_DIR",
    "MODEL_SHA256",
    "Embedder",
    "EmbeddingError",
    "LocalOnnxEmbedder",
    "OpenAIEmbedder",
    "get_embedder",
]

DIMENSION = 384
LOCAL_MODEL_NAME = "all-MiniLM-L6-v2-int8"
OPENAI_MODEL_NAME = "text-embedding-3-small"
MODEL_DIR = Path(__file__).resolve().parent / "data" / "model"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256

Vectors = npt.NDArray[np.float32]


class EmbeddingError(RuntimeError):
    """The embedding model could not be loaded or did not answer."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of :attr:`dimension` floats."""

    @property
    def model_name(self) -> str:
        """The name recorded next to every vector this embedder makes."""
        ...

    @property
    def dimension(self) -> int:
        """The length of every vector."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` (blocking; call off the event loop) into a ``[len(texts), dimension]`` array."""
        ...


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalOnnxEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) shipped with the server: no torch, no download.

    Mean-pools token embeddings over the attention mask, then L2-normalises; texts are truncated at 256 tokens and a
    batch is padded only to its longest text. Batches are sorted by length so padding stays small.
    """

    def __init__(self, model_dir: Path = MODEL_DIR, *, threads: int | None = None, batch_size: int = 32) -> None:
        import onnxruntime  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy, load only when needed
        from tokenizers import Tokenizer  # noqa: PLC0415

        model_path, tokenizer_path = model_dir / "model.onnx", model_dir / "tokenizer.json"
        for path, expected in ((model_path, MODEL_SHA256), (tokenizer_path, TOKENIZER_SHA256)):
            if not path.is_file():
                raise EmbeddingError(f"embedding model file missing: {path}")
            if _sha256(path) != expected:
                raise EmbeddingError(f"embedding model file {path} does not match its sha256; reinstall the server")
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a password
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return LOCAL_MODEL_NAME

    @property
    def dimension(self) -> int:
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> Vectors:
        with self._lock:  # the tokenizer's padding state is shared
            encodings = self._tokenizer.encode_batch([t if t.strip() else "[UNK]" for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.zeros_like(ids)
        tokens = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


class OpenAIClient(Protocol):
    """The slice of the ``openai`` SDK's client we use (``client.embeddings.create``)."""

    @property
    def embeddings(self) -> Any:
        """The embeddings resource."""
        ...


class OpenAIEmbedder:
    """OpenAI ``text-embedding-3-small`` shortened (``dimensions``) to the column's width."""

    def __init__(self, client: OpenAIClient, *, model: str = OPENAI_MODEL_NAME, batch_size: int = 256) -> None:
        self._client = client
        self._model = model
        self._batch_size = batch_size

    @property
    def model_name(self) -> str:
        return f"openai:{self._model}"

    @property
    def dimension(self) -> int:
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            batch = [t if t.strip() else "." for t in texts[start : start + self._batch_size]]
            try:
                response = self._client.embeddings.create(model=self._model, input=batch, dimensions=DIMENSION)
            except Exception as exc:
                raise EmbeddingError(f"OpenAI embeddings failed: {exc}") from exc
            for item in response.data:
                out[start + item.index] = np.asarray(item.embedding, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        result: Vectors = (out / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


_lock = threading.Lock()
_cache: dict[str, Embedder] = {}


def get_embedder(kind: str = "local") -> Embedder:
    """The process-wide embedder of ``kind`` (``local`` or ``openai``), built on first use."""
    with _lock:
        if kind not in _cache:
            if kind == "local":
                _cache[kind] = LocalOnnxEmbedder()
            elif kind == "openai":
                try:
                    import openai  # type: ignore[import-not-found]  # noqa: PLC0415 - optional dependency
                except ImportError as exc:
                    raise EmbeddingError(
                        "TECHPAL_EMBEDDINGS=openai needs the `openai` package, which is not installed"
                    ) from exc
                _cache[kind] = OpenAIEmbedder(openai.OpenAI())
            else:
                raise EmbeddingError(f"unknown embeddings kind {kind!r}")
        return _cache[kind]
