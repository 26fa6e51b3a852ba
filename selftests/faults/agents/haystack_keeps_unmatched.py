"""Fault: Haystack's in-memory BM25 retrieval also returns the documents that match no
query term, at score 0, after the matched ones (what Haystack 3.2 did and 3.4 does not: a
retrieval change the ranking gate must show)."""

from dataclasses import replace

from selftests.faults import wrap


def pytest_configure(config):
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    def keeping(original):
        def kept(self, query, filters=None, top_k=10, scale_score=False):
            found = original(self, query, filters, top_k, scale_score)
            seen = {d.id for d in found}
            rest = [replace(d, score=0.0) for d in self.filter_documents(filters)
                    if d.id not in seen]
            return (found + rest)[:top_k]
        return kept

    wrap(InMemoryDocumentStore, "bm25_retrieval", keeping)
