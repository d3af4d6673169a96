"""Plain helpers for the tests: no fixtures and no hooks (those live in tests/fix_*.py).

Import them by module: ``from tests.support.event_loops import on_trio``.
"""
