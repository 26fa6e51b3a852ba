"""Fault: every model of the models suite keeps an extra activation-sized buffer alive
during its forward (a leak or a lost in-place optimisation): 20% more than one batch's
hidden states."""

from selftests.faults import wrap


def pytest_configure(config):
    import torch

    from suites.models import loading

    def hungry(load):
        def loaded_hungry(*args, **kwargs):
            loaded = load(*args, **kwargs)
            logits = loaded.logits

            def run(ids, mask):
                extra = torch.empty(int(ids.numel() * 64 * 1.2), dtype=torch.float32,
                                    device=ids.device).fill_(0)
                out = logits(ids, mask)
                return out + extra[:1].sum() * 0
            loaded.logits = run
            return loaded
        return loaded_hungry

    wrap(loading, "load", hungry)
