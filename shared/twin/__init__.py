"""Twins: ``blocks`` (the synthetic twins' building blocks: seeded streams, latent factors, responses
with known probabilities) and ``calibration`` (fitting a twin's few global parameters to a source's
published results). Imports ``shared.runtime`` and ``shared.data``."""
