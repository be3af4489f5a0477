"""Text embeddings behind one interface: the bundled local ONNX model, or OpenAI's API.

The model name and dimension travel with every vector (they are stored next to the chunks), so vectors of two models
are never mixed: switching ``TECHPAL_EMBEDDINGS`` asks for ``techpal-server kb reembed``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from server.lib.workers import BoundedExecutor

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from server.settings import AISettings

__all__ = [
    "DIMENSION",
    "LOCAL_MODEL_NAME",
    "MODEL_DIR",
    "MODEL_SHA256",
    "OPENAI_MODEL_NAME",
    "Embedder",
    "Embedders",
    "EmbeddingError",
    "LocalOnnxEmbedder",
    "OpenAIEmbedder",
    "build_embedder",
    "query_embedding_pool",
    "vector_literal",
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


def _verify(path: Path, expected: str) -> None:
    if not path.is_file():
        raise EmbeddingError(f"embedding model file missing: {path}")
    if _sha256(path) != expected:
        raise EmbeddingError(f"embedding model file {path} does not match its sha256; reinstall the server")


@functools.cache
def _onnx_session(model_path: Path, threads: int | None) -> Any:
    """The model file, checked and loaded once per process (0.35 s); sessions are safe to run from many threads."""
    import onnxruntime  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy, load only when needed

    _verify(model_path, MODEL_SHA256)
    options = onnxruntime.SessionOptions()
    # Idle worker threads sleep instead of spinning: on a server the cores they would spin on are the event
    # loop's and PostgreSQL's. Measured on 2 cores between answers: query embedding p95 30 → 17 ms.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


class LocalOnnxEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) shipped with the server: no torch, no download.

    Mean-pools token embeddings over the attention mask, then L2-normalises; texts are truncated at 256 tokens and a
    batch is padded only to its longest text. Batches are sorted by length so padding stays small.
    """

    def __init__(self, model_dir: Path = MODEL_DIR, *, threads: int | None = None, batch_size: int = 32) -> None:
        from tokenizers import Tokenizer  # noqa: PLC0415 - load only when needed

        self._session = _onnx_session(model_dir / "model.onnx", threads)
        tokenizer_path = model_dir / "tokenizer.json"
        _verify(tokenizer_path, TOKENIZER_SHA256)
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a password
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """The shipped model's name, :data:`LOCAL_MODEL_NAME`."""
        return LOCAL_MODEL_NAME

    @property
    def dimension(self) -> int:
        """The length of every vector, :data:`DIMENSION`."""
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in length-sorted batches into a normalised ``[len(texts), DIMENSION]`` array (blocking)."""
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
        """``openai:`` and the model's name."""
        return f"openai:{self._model}"

    @property
    def dimension(self) -> int:
        """The length of every vector, :data:`DIMENSION`."""
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` through the API in batches into a normalised ``[len(texts), DIMENSION]`` array (blocking).

        Raises :class:`EmbeddingError` when the call fails or answers the wrong number or width of vectors.
        """
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            batch = [t if t.strip() else "." for t in texts[start : start + self._batch_size]]
            try:
                response = self._client.embeddings.create(model=self._model, input=batch, dimensions=DIMENSION)
            except Exception as exc:
                # The provider's text may quote the (masked) key: pass on only what kind of failure it was.
                raise EmbeddingError(f"OpenAI embeddings failed ({type(exc).__name__})") from exc
            if len(response.data) != len(batch):
                raise EmbeddingError(f"OpenAI embeddings answered {len(response.data)} vectors for {len(batch)} texts")
            for item in response.data:
                if len(item.embedding) != DIMENSION:
                    raise EmbeddingError(
                        f"OpenAI embeddings answered {len(item.embedding)} dimensions instead of {DIMENSION}"
                    )
                out[start + item.index] = np.asarray(item.embedding, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        result: Vectors = (out / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


def _openai_embedder(ai: AISettings | None) -> tuple[tuple[str, ...], Callable[[], Embedder]]:
    base_url = (ai.embeddings_base_url or ai.base_url) if ai else None
    api_key = ai.api_key.get_secret_value() if ai and ai.api_key else None
    if base_url is None and api_key is None:
        raise EmbeddingError(
            "TECHPAL_EMBEDDINGS=openai needs TECHPAL_AI_API_KEY (or OPENAI_API_KEY) for OpenAI's API, or "
            "TECHPAL_EMBEDDINGS_BASE_URL (or TECHPAL_AI_BASE_URL) for an OpenAI-compatible server"
        )
    timeout = float(ai.timeout) if ai else 60.0

    def build() -> Embedder:
        import openai  # noqa: PLC0415 - only this embedder needs the SDK

        # A local OpenAI-compatible server often needs no key, but the SDK insists on one.
        client = openai.OpenAI(base_url=base_url, api_key=api_key or "unused", timeout=timeout, max_retries=2)
        return OpenAIEmbedder(client)

    return ("openai", base_url or "", api_key or "", str(timeout)), build


def _recipe(kind: str, ai: AISettings | None) -> tuple[tuple[str, ...], Callable[[], Embedder]]:
    if kind == "local":
        return ("local",), LocalOnnxEmbedder
    if kind == "openai":
        return _openai_embedder(ai)
    raise EmbeddingError(f"unknown embeddings kind {kind!r}")


def build_embedder(kind: str = "local", ai: AISettings | None = None) -> Embedder:
    """A new embedder of ``kind`` (``local`` or ``openai``; ``settings.embeddings``), for one-off work (the CLI).

    ``openai`` is configured by ``ai`` (``settings.ai``): ``embeddings_base_url`` or ``base_url`` and ``api_key``.
    Raises :class:`EmbeddingError` when the embedder cannot be built.
    """
    return _recipe(kind, ai)[1]()


class Embedders:
    """The app's built embedders, keyed by everything that configures them, each built once on first use.

    The local model is loaded once (0.35 s, ~90 MB); an OpenAI client (with its connection pool) is reused per
    endpoint and key rather than built for every search. Thread-safe: the seed import builds from its own thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[tuple[str, ...], Embedder] = {}

    def get(self, kind: str = "local", ai: AISettings | None = None) -> Embedder:
        """The embedder of ``kind``, built on first use (see :func:`build_embedder`); raises :class:`EmbeddingError`."""
        key, build = _recipe(kind, ai)
        with self._lock:
            if key not in self._built:
                self._built[key] = build()
            return self._built[key]

    async def configured(self, kind: str, ai: AISettings | None = None) -> Embedder | None:
        """:meth:`get` off the event loop, or ``None`` when it cannot be built (search then uses keywords)."""
        try:
            if (built := self._built.get(_recipe(kind, ai)[0])) is not None:
                return built  # no worker thread once built: every answer asks
            return await asyncio.to_thread(self.get, kind, ai)
        except EmbeddingError:
            return None


def vector_literal(vector: Any) -> str:
    """A vector as pgvector's text form (``CAST(:v AS vector)``); 6 significant digits are below float32 noise."""
    return "[" + ",".join(f"{x:.6g}" for x in np.asarray(vector, dtype=np.float32).tolist()) + "]"


def query_embedding_pool() -> BoundedExecutor:
    """The bounded pool search queries are embedded in (503 ``busy`` when full; the app context holds one)."""
    # A local query embedding takes ~10–30 ms and already spreads over the cores; a remote one waits on the network.
    return BoundedExecutor(
        workers=4,
        max_waiting=16,
        wait_timeout=10.0,  # a search waiting longer is better refused and retried
        name="query-embeddings",
        busy_message="The server is busy with other searches; please try again in a moment.",
    )
