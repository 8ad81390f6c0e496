"""The panel's own CSS, JavaScript and icon and the vendored xterm.js, served from the
package (no build step, nothing fetched from elsewhere).

The icon (static/favicon.ico: 16, 32 and 48 px PNGs, "ai" in white on indigo) is also
the answer to /favicon.ico, which browsers ask for on pages that name no icon (/docs).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aiiro.web.pages import PREFIX, render

router = APIRouter()

TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@lru_cache(maxsize=256)  # the panel has a few dozen files; any path may be asked for
def _load(path: str) -> bytes | None:
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    node = resources.files("aiiro.web").joinpath("static", *parts)
    return node.read_bytes() if node.is_file() else None


@router.get(PREFIX + "/static/{path:path}")
async def static(path: str, request: Request) -> Response:
    suffix = path[path.rfind(".") :] if "." in path else ""
    body = _load(path) if suffix in TYPES else None
    if body is None:
        return render(request, "error.html", 404, message_key="error.not_found")
    # URLs carry ?v=<version>, so a long cache life is safe across upgrades.
    return Response(
        body,
        media_type=TYPES[suffix],
        headers={"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"},
    )


@router.get("/favicon.ico")
async def favicon(request: Request) -> Response:
    return await static("favicon.ico", request)
