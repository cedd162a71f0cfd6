"""Prefect flows and thin tasks of winnow: orchestration, I/O, logging, artifacts."""
