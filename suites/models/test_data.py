"""The IMDB test split loads through every supported path and is sampled so that both
classes are there: the real split is sorted by label (its first 12500 rows are negative),
so an unstratified `select(range(1000))` evaluates on negatives only and any model that
says "negative" scores 100%."""

import pytest

from . import data
from .cases import FIXTURE_ACLIMDB, FIXTURE_PARQUET, FIXTURES, MODELS, data_cases

@pytest.mark.parametrize("source", data_cases())
def test_test_split_loads_and_samples_both_classes(source, gate):
    split = data.load(source)
    counts = {name: share * len(split.labels)
              for name, share in data.class_balance(split.labels).items()}
    gate.info("split_size", len(split.labels), classes=counts, origin=split.origin)
    n = max(m.samples for m in MODELS if m.data.on_hub == source.on_hub)
    data.check_balance(gate, data.sample(split, min(n, len(split.labels))))


def test_parquet_and_aclimdb_layouts_hold_the_same_reviews(gate):
    parquet, aclimdb = data.load(FIXTURE_PARQUET), data.load(FIXTURE_ACLIMDB)
    same = sorted(zip(parquet.texts, parquet.labels)) == sorted(zip(aclimdb.texts,
                                                                    aclimdb.labels))
    gate.require("layouts_agree", same, measured=same, expected=True,
                 source="fixtures/make_imdb.py writes one corpus twice",
                 message=f"{parquet.origin} and {aclimdb.origin} differ: the two loaders "
                         "read different reviews or labels")


def test_fixture_corpus_is_what_its_generator_writes(gate):
    """fixtures/data is generated, not hand-edited: the generator reproduces it."""
    pytest.importorskip("vaderSentiment", reason="vaderSentiment not installed (the "
                                                 "generator's lexicon): "
                                                 "`pip install -e '.[models]'`")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_imdb", FIXTURES / "make_imdb.py")
    make_imdb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_imdb)
    generated = make_imdb.corpus()["test"]
    committed = data.load(FIXTURE_PARQUET)
    same = [t for t, _ in generated] == list(committed.texts) and \
        [y for _, y in generated] == list(committed.labels)
    gate.require("generator_reproduces_fixture", same, measured=same, expected=True,
                 source="fixtures/make_imdb.py",
                 message="fixtures/data/imdb-tiny differs from what fixtures/make_imdb.py "
                         "generates: regenerate it (and retrain the tiny models) or revert")
