"""Fault of the example suite (selftests/example_suites/quant): quantization truncates
toward zero instead of rounding to nearest, so a value moves by up to a whole step."""

from selftests.faults import wrap


def pytest_configure(config):
    import torch

    from selftests.example_suites.quant import int8

    def truncating(quantize):
        def truncated(x):
            q = quantize(x)
            scale = q.q_scale()
            return torch.quantize_per_tensor(torch.trunc(x / scale) * scale, scale, 0,
                                             torch.qint8)
        return truncated

    wrap(int8, "quantize", truncating)
