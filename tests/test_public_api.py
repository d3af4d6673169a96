"""The package surface: exports, and the sync twin matching the async original."""

from __future__ import annotations

import inspect
import types

import mbxai
from mbxai import _async, _sync


def test_all_is_sorted_complete_and_importable() -> None:
    assert list(mbxai.__all__) == sorted(mbxai.__all__)
    assert len(set(mbxai.__all__)) == len(mbxai.__all__)
    for name in mbxai.__all__:
        assert hasattr(mbxai, name), name
    public = {
        name
        for name, value in vars(mbxai).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(mbxai.__all__), public - set(mbxai.__all__)


def test_every_async_class_has_a_sync_twin_with_the_same_api() -> None:
    for name in _async.__all__:
        assert name.startswith("Async"), name
        sync_name = name.removeprefix("Async")
        assert sync_name in _sync.__all__
        async_cls, sync_cls = getattr(_async, name), getattr(_sync, sync_name)
        async_methods = {n for n in dir(async_cls) if not n.startswith("_")}
        sync_methods = {n for n in dir(sync_cls) if not n.startswith("_")}
        renamed = {"aclose": "close"}
        expected = {renamed.get(n, n) for n in async_methods}
        assert expected <= sync_methods, expected - sync_methods
        for method in async_methods - set(renamed):
            a, s = getattr(async_cls, method), getattr(sync_cls, method)
            if inspect.isfunction(a):
                assert inspect.iscoroutinefunction(a) != inspect.iscoroutinefunction(s) or not (
                    inspect.iscoroutinefunction(a)
                ), method
                assert list(inspect.signature(a).parameters) == list(
                    inspect.signature(s).parameters
                ), method


def test_seed_compat_methods_exist_on_sync_clients_only() -> None:
    for method in ("acreate", "achat", "aparse"):
        assert inspect.iscoroutinefunction(getattr(mbxai.OpenRouterClient, method))
        assert not hasattr(mbxai.AsyncOpenRouterClient, method)


def test_typed_marker_ships() -> None:
    import importlib.resources

    assert importlib.resources.files("mbxai").joinpath("py.typed").is_file()
