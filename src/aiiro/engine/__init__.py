"""Durable operations and the worker that runs them when due."""
