import pytest

from solutions.vklab_posts import twin


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """One tiny twin for the whole session (tests that change the file copy it first)."""
    return twin.generate("tiny", 42, tmp_path_factory.mktemp("vklab_tiny"))
