"""Alembic migrations of the store's schema, run by :func:`orbit.store.engine.migrate` at start."""
