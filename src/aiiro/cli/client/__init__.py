"""The client half of `aiiro`: commands that speak the Indigo API to any endpoint.

Commands are typer commands (instance.py, keys.py, ...) over a `Ctx` (common.py); the
list commands (lists.py) also run without typer, from their dispatcher (fast.py), with
the framework-free part of a command's context (session.py, env.py, output.py, exits.py).
Those modules load the standard library and aiiro.client_core only.
"""
