"""The core of the Indigo client, shared by the SDK (aiiro.client) and the CLI.

- `config`: where the endpoint and credentials come from (`Settings`, `Places`, profiles);
- `tokens`: access tokens and their cache on disk;
- `policy`: requests, the effects an operation yields (`Op`, `Call`, `Http`, `Sleep`), the
  request policy (`Engine`: tokens, quota waits, retries) and the two runners;
- `shapes`: the API's answers as plain data, its field quirks absorbed;
- `transport`: carrying `Http` effects out (http.client, or httpx);
- `errors`: the exceptions; `server`: what an aiiro server says about itself.

The rule of this package: **the standard library only at run time** (httpx, tomli_w and,
off Linux, platformdirs are imported in the functions that use them, which a list command
never calls). Every `aiiro <kind> list` loads it and nothing heavier (the typed SDK, its
dataclass models, httpx, typer, rich and pydantic stay unloaded), so that a script running
the CLI in a loop pays little more than Python's own start-up; docs/performance.md has the
budget and tests/cli/test_client_process.py checks what such a run loads.

It is a package of its own, outside aiiro.client, because importing anything under
aiiro.client runs that package's `__init__`, which loads the typed SDK.
"""
