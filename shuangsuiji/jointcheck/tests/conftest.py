import pytest

from .helpers import World


@pytest.fixture
def world(org):
    return World(org)
