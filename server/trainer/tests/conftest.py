"""Fixtures of the trainer tests (helpers live in synthetic.py, importable by name from any test)."""

import pytest

from synthetic import write_folder


@pytest.fixture
def data_folder(tmp_path):
    return write_folder(str(tmp_path / "data"))


@pytest.fixture
def data_folder_embedding(tmp_path):
    return write_folder(str(tmp_path / "data_emb"), embedding=True)
