"""Knowledge base: troubleshooting articles in PostgreSQL, split into chunks with pgvector embeddings and BM25."""
