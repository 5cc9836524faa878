import pytest


@pytest.fixture(autouse=True)
def own_data_folder(settings, tmp_path):
    """Each test's draw and assignment files in its own folder (task codes repeat across test
    databases)."""
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR
