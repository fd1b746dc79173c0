import faiss
import numpy as np
import pytest

from bench.records.config import RetrievalConfig
from bench.models.presets import resolve_embedder
from bench.retrieval.chunks import chunk_docs
from bench.retrieval.index import HNSW_SEARCH_DEPTH, build_retriever, load_embedder, make_index
from bench.records.items import Doc

DOCS = [
    Doc("kettle", "Matal Brew 8", "The Matal Brew 8 electric kettle holds 2.1 litres and costs $79."),
    Doc("drone", "Verven Kestrel 6", "The Verven Kestrel 6 camera drone flies for 37 minutes on one battery."),
    Doc("policy", "Returns", "Customers may return any product within 45 days of delivery."),
]


@pytest.fixture(scope="module")
def embedder():
    return load_embedder(resolve_embedder("all-minilm-l6-v2"), "cpu")


def test_long_documents_are_cut_into_overlapping_windows():
    doc = Doc("d", "", " ".join(f"w{i}" for i in range(10)))
    chunks = chunk_docs([doc], words=4, overlap=1)
    assert [c.text for c in chunks] == ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]
    assert [c.id for c in chunks] == ["d#0", "d#1", "d#2"] and {c.doc_id for c in chunks} == {"d"}


def test_short_documents_stay_whole():
    assert [c.text for c in chunk_docs(DOCS[:1], words=80, overlap=16)] == [DOCS[0].text]


def test_search_ranks_the_document_that_answers_first(embedder):
    retriever, stats = build_retriever(DOCS, "all-minilm-l6-v2", embedder, RetrievalConfig(k=2))
    results = retriever.search(["How long can the Kestrel drone fly?", "How many days do I have to return an item?"], 1)
    assert [[c.doc_id for c in r] for r in results] == [["drone"], ["policy"]]
    assert stats.chunks == 3 and stats.size_bytes > 0 and not stats.cached


def test_the_index_is_reused_for_the_same_corpus_and_rebuilt_when_it_changes(embedder):
    cfg = RetrievalConfig()
    _, first = build_retriever(DOCS, "all-minilm-l6-v2", embedder, cfg)
    _, again = build_retriever(DOCS, "all-minilm-l6-v2", embedder, cfg)
    _, changed = build_retriever(DOCS[:2], "all-minilm-l6-v2", embedder, cfg)
    assert again.cached and again.build_seconds == first.build_seconds and not changed.cached


def test_large_corpora_get_an_approximate_index_searched_deep_enough():
    vectors = np.random.default_rng(0).normal(size=(2000, 16)).astype("float32")
    hnsw, ivf = make_index(vectors, "hnsw"), make_index(vectors, "ivf")
    assert isinstance(hnsw, faiss.IndexHNSWFlat) and hnsw.hnsw.efSearch == HNSW_SEARCH_DEPTH > 16  # faiss's default: 16
    assert isinstance(ivf, faiss.IndexIVFFlat) and ivf.nlist == 44 and ivf.nprobe == 32 and hnsw.ntotal == ivf.ntotal == 2000
    assert isinstance(make_index(vectors[:999], "hnsw"), faiss.IndexFlatIP)  # too few to be worth it
