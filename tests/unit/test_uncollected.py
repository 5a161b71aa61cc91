"""The close's steps pause automatic garbage collection (ADR 0018) and restore it after."""

from __future__ import annotations

import gc

import pytest

from syncline.services.uncollected import uncollected, without_collection


@without_collection
def state() -> bool:
    return gc.isenabled()


@without_collection
def fails() -> None:
    raise ValueError("refused")


def test_a_step_runs_without_collection_and_the_collector_is_on_again_after() -> None:
    assert gc.isenabled()
    assert state() is False
    assert gc.isenabled()
    with pytest.raises(ValueError):
        fails()
    assert gc.isenabled()


def test_a_collector_already_off_is_left_off() -> None:
    gc.disable()
    try:
        with uncollected():
            assert not gc.isenabled()
        assert state() is False
        assert not gc.isenabled()
    finally:
        gc.enable()
