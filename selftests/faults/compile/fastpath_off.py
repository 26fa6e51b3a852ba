"""Fault: the encoder-layer-fastpath model runs with the MHA fast path disabled, so its
cases would silently test the plain path."""

import dataclasses


def pytest_configure(config):
    from suites.compile import models

    spec = models.MODELS["encoder-layer-fastpath"]
    models.MODELS[spec.name] = dataclasses.replace(spec, context=lambda: models.mha_fastpath(False))
