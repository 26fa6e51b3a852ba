"""Fault: BERT asked for attn_implementation="sdpa" silently gets eager attention, which
materialises the L x L probabilities (what a broken SDPA integration would do)."""


def pytest_configure(config):
    from suites.models import loading

    load = loading.load

    def eager_instead(case, device="cpu", attn_implementation="sdpa"):
        loaded = load(case, device, "eager")
        loaded.path = loaded.path.replace("eager", attn_implementation)  # and hides it
        return loaded

    loading.load = eager_instead
