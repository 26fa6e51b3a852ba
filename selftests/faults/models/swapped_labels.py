"""Fault: every model of the models suite answers with its two output classes swapped (a
checkpoint whose id2label was flipped, or a head saved in the other order)."""

from selftests.faults import wrap


def pytest_configure(config):
    from suites.models import loading

    def swapping(load):
        def swapped(*args, **kwargs):
            loaded = load(*args, **kwargs)
            logits = loaded.logits
            loaded.logits = lambda ids, mask: logits(ids, mask).flip(-1)
            return loaded
        return swapped

    wrap(loading, "load", swapping)
