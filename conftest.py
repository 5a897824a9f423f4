"""Doctests in ``lamina/`` print layer names (``rnn/simple_rnn_cell/kernel``): each starts with fresh counters."""

import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(autouse=True)
def _fresh_names_for_doctests(request):
    if isinstance(request.node, DoctestItem):
        import lamina

        lamina.backend.clear_session()
    yield
