"""The seed helper's determinism settings: the same arithmetic on a GPU as on the CPU."""

import os

import torch

from shared.runtime import device, dispatch, seed


def test_seed_everything_sets_the_gpu_arithmetic():
    seed.seed_everything(7)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == device.CUBLAS_WORKSPACE
    assert torch.get_float32_matmul_precision() == "highest"
    assert torch.backends.cudnn.allow_tf32 is False and torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False
    a = torch.rand(3)
    seed.seed_everything(7)
    assert torch.equal(a, torch.rand(3))


def test_deterministic_algorithms_is_restored_after_the_block():
    before = torch.are_deterministic_algorithms_enabled()
    try:
        torch.use_deterministic_algorithms(False)
        with device.deterministic_algorithms():
            torch.use_deterministic_algorithms(True)  # what Lightning's Trainer(deterministic=True) does
            assert torch.are_deterministic_algorithms_enabled()
        assert not torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(before)


def test_the_manifest_names_the_device():
    facts = dispatch.describe()["accelerator"]
    if torch.cuda.is_available():
        assert facts["device"] == "cuda" and facts["gpu"] and facts["cuda"]
    else:
        assert facts == {"device": "cpu"}
