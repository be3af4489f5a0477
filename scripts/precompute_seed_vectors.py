"""Precompute the seed corpus's chunk vectors for the default (local) embedding model.

    nice -n 19 .venv/bin/python scripts/precompute_seed_vectors.py

Reads server/domain/knowledge/data/seed/kb_articles.jsonl.xz, chunks every article exactly as the importer does
(server.domain.knowledge.chunking) and embeds each distinct chunk text with the bundled all-MiniLM-L6-v2 int8 model.
Writes server/domain/knowledge/data/seed/vectors.npz: model name, dimension, chunk content hashes and float16 vectors
(compressed). Checkpoints to vectors.partial.npz every few hundred chunks, so a killed run resumes. On 2 cores it
takes about 10 minutes. Re-run it whenever the corpus, the chunking or the model changes; the importer embeds any
chunk whose hash is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.domain.knowledge.chunking import chunk_article  # noqa: E402
from server.domain.knowledge.embeddings import LocalOnnxEmbedder  # noqa: E402
from server.domain.knowledge.seed import SEED_CORPUS, SEED_VECTORS, load_seed_vectors, open_corpus, save_seed_vectors  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SEED_CORPUS)
    parser.add_argument("--out", type=Path, default=SEED_VECTORS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=int, default=512)
    args = parser.parse_args()

    texts: dict[str, str] = {}
    with open_corpus(args.corpus) as handle:
        for line in handle:
            if line.strip():
                article = json.loads(line)
                for chunk in chunk_article(article["title"], article["symptoms"], article["body"]):
                    texts.setdefault(chunk.content_hash, chunk.text)
    embedder = LocalOnnxEmbedder(threads=args.threads)
    partial = args.out.with_name(args.out.stem + ".partial.npz")
    done: dict[str, np.ndarray] = {}
    for source in (args.out, partial):
        previous = load_seed_vectors(source)
        if previous and previous.model == embedder.model_name:
            done.update({h: v for h, v in previous.vectors.items() if h in texts})
    todo = sorted((h for h in texts if h not in done), key=lambda h: len(texts[h]))
    print(f"{len(texts)} chunks, {len(done)} already embedded, {len(todo)} to go", flush=True)
    started = time.monotonic()
    for start in range(0, len(todo), args.checkpoint_every):
        batch = todo[start : start + args.checkpoint_every]
        vectors = embedder.embed([texts[h] for h in batch])
        done.update(zip(batch, vectors, strict=True))
        hashes = list(done)
        save_seed_vectors(partial, embedder.model_name, hashes, np.stack([done[h] for h in hashes]))
        rate = (start + len(batch)) / (time.monotonic() - started)
        print(f"{start + len(batch)}/{len(todo)} ({rate:.1f} chunks/s)", flush=True)
    hashes = sorted(texts)
    save_seed_vectors(args.out, embedder.model_name, hashes, np.stack([done[h] for h in hashes]))
    partial.unlink(missing_ok=True)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
