"""aiiro: a self-hostable, API-compatible implementation of the WebARENA Indigo VPS platform."""

__version__ = "0.1.0"
