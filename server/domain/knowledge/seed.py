"""The seed corpus and its precomputed vectors, shipped inside the server package."""

from __future__ import annotations

import io
import lzma
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["SEED_CORPUS", "SEED_VECTORS", "SeedVectors", "load_seed_vectors", "save_seed_vectors"]

SEED_DIR = Path(__file__).resolve().parent / "data" / "seed"
SEED_CORPUS = SEED_DIR / "kb_articles.jsonl.xz"
SEED_VECTORS = SEED_DIR / "vectors.npz"


@dataclass(frozen=True, slots=True)
class SeedVectors:
    """Precomputed chunk vectors keyed by chunk content hash, valid for one model name and dimension."""

    model: str
    dimension: int
    vectors: dict[str, npt.NDArray[np.float32]]


def load_seed_vectors(path: Path = SEED_VECTORS) -> SeedVectors | None:
    """The shipped vectors, or ``None`` when the file is absent or unreadable (everything is then embedded)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            model = str(data["model"])
            dimension = int(data["dimension"])
            hashes = [str(h) for h in data["hashes"]]
            matrix = data["vectors"].astype(np.float32)
    except (OSError, KeyError, ValueError):
        return None
    return SeedVectors(model=model, dimension=dimension, vectors=dict(zip(hashes, matrix, strict=True)))


def save_seed_vectors(path: Path, model: str, hashes: list[str], matrix: npt.NDArray[np.float32]) -> None:
    """Write vectors as float16, compressed, with the model name and dimension."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        model=np.array(model),
        dimension=np.array(matrix.shape[1]),
        hashes=np.array(hashes),
        vectors=matrix.astype(np.float16),
    )
    path.write_bytes(buffer.getvalue())


def open_corpus(path: Path) -> io.TextIOBase:
    """Open a JSONL corpus, ``.xz``-compressed or not, as text."""
    if path.suffix == ".xz":
        return io.TextIOWrapper(lzma.open(path, "rb"), encoding="utf-8", errors="strict")
    return io.TextIOWrapper(path.open("rb"), encoding="utf-8", errors="strict")
