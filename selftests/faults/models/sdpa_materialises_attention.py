"""Fault: BERT asked for attn_implementation="sdpa" silently gets eager attention, which
materialises the L x L probabilities (what a broken SDPA integration would do)."""

from selftests.faults import wrap


def pytest_configure(config):
    from suites.models import loading

    def eager_instead(load):
        def load_eager(case, device="cpu", attn_implementation="sdpa"):
            loaded = load(case, device, "eager")
            loaded.path = loaded.path.replace("eager", attn_implementation)  # and hides it
            return loaded
        return load_eager

    wrap(loading, "load", eager_instead)
