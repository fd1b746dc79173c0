"""Chunking, sentence-transformers embeddings and FAISS indexes over a task's corpus."""
