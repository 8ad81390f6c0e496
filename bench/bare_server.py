"""The ceiling: a bare Starlette app that answers recorded routes with recorded bytes.

Usage: python bare_server.py SPEC.json PORT. Run by uvicorn with one worker and the same
defaults `aiiro serve` uses (auto loop and HTTP implementation, no access log), so the
difference to aiiro is aiiro's own work per request.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _endpoint(spec: dict[str, Any]) -> Any:
    body = spec["body"].encode("latin-1")
    status = spec["status"]
    headers = {k: v for k, v in spec["headers"] if k.lower() != "content-type"}
    media_type = next((v for k, v in spec["headers"] if k.lower() == "content-type"), None)

    async def endpoint(request: Request) -> Response:
        await request.body()  # read the request like a real endpoint would
        return Response(body, status_code=status, headers=headers, media_type=media_type)

    return endpoint


def build(specs: list[dict[str, Any]]) -> Starlette:
    async def health(_: Request) -> Response:
        return Response(b"ok")

    routes = [Route("/_bare/health", health)]
    routes += [Route(s["path"], _endpoint(s), methods=[s["method"]]) for s in specs]
    return Starlette(routes=routes)


def main() -> None:
    spec_path, port = sys.argv[1], int(sys.argv[2])
    with open(spec_path) as f:
        specs = json.load(f)
    uvicorn.run(build(specs), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
