"""The OpenAPI 3.1 document of the Indigo API as aiiro serves it (/openapi.json), and the
page that renders it (/docs, Swagger UI shipped in the package).

Each Indigo endpoint's operation comes from its declaration (api/endpoint.py: body,
answers, errors), in the terms defined here (the component schemas, from
indigo-api-facts.md); FastAPI describes the other routes (/_aiiro/). tests/openapi fuzzes
the served API against this document with schemathesis: every answer must be a documented
code with a body of the documented shape.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

if TYPE_CHECKING:
    from aiiro.api.endpoint import Endpoint

Schema = dict[str, Any]

# --- building blocks --------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """An object with these keys, all required except `optional` (others may appear)."""
    return {
        "type": "object",
        "properties": props,
        "required": [k for k in props if k not in optional],
    }


def arr(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def const(value: Any) -> Schema:
    return {"const": value}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
NULL: Schema = {"type": "null"}
TIME: Schema = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$",
    "description": 'UTC, "YYYY-MM-DD HH:MM:SS"',
}
TIME_OR_NULL = nullable(TIME)


def listing(key: str, item: Schema) -> Schema:
    return obj({"success": const(True), "total": INT, key: arr(item)})


# --- component schemas ------------------------------------------------------------------

COMPONENTS: dict[str, Schema] = {
    "BackendError": {
        **obj({"success": const(False), "errorMessage": STR, "errorCode": STR}),
        "description": "An application error. Codes observed on Indigo keep their text; "
        "aiiro's own codes (A....) are listed in docs/compatibility.md.",
    },
    "GatewayError": {
        **obj(
            {
                "errorCode": STR,
                "errorMessage": STR,
                "developerMessage": STR,
                "moreInfo": NULL,
                "requestId": STR,
            }
        ),
        "description": "The API gateway's error (401 token, 429 quota): errorCode is the "
        "HTTP status as a string.",
    },
    "Token": obj(
        {
            "accessToken": STR,
            "tokenType": const("BearerToken"),
            "expiresIn": const("3599"),
            "scope": STR,
            "issuedAt": {"type": "string", "pattern": r"^\d+$"},
        }
    ),
    "Message": obj({"success": const(True), "message": STR}),
    "Coded": obj({"success": BOOL, "message": STR, "sucessCode": STR}),
    "StatusZero": {
        **obj({"STATUS": const(0)}),
        "description": 'The snapshot endpoints\' success body, {"STATUS":0}.',
    },
    "SshKey": obj(
        {
            "id": INT,
            "service_id": STR,
            "user_id": INT,
            "name": STR,
            "sshkey": STR,
            "status": {"enum": ["ACTIVE", "DEACTIVE"]},
            "created_at": TIME,
            "updated_at": TIME,
        }
    ),
    "ApiKey": obj({"id": INT, "apiKey": STR, "created_at": TIME}),
    "InstanceType": obj(
        {"id": INT, "name": STR, "display_name": STR, "created_at": TIME, "updated_at": TIME}
    ),
    "Region": obj({"id": INT, "oem_id": INT, "name": STR, "use_possible_date": TIME}),
    "Os": obj(
        {
            "id": INT,
            "categoryid": INT,
            "code": STR,
            "name": STR,
            "viewname": STR,
            "instancetype_id": INT,
        }
    ),
    "OsCategory": obj({"id": INT, "name": STR, "logo": STR, "osLists": arr(ref("Os"))}),
    "Plan": obj(
        {
            "id": INT,
            "code": STR,
            "name": STR,
            "description": STR,
            "use_possible_date": TIME,
            "instancetype_id": INT,
            "ipaddress_type": {"enum": ["ipv4", "ipv6", "ipv46dual"]},
            "created_at": TIME,
            "updated_at": TIME,
            "instance_type": nullable(ref("InstanceType")),
            "kvm_resources": obj(
                {"id": INT, "plan_id": INT, "name": STR, "param": STR, "limitnum": INT}
            ),
        }
    ),
    "Firewall": obj(
        {
            "id": INT,
            "service_id": STR,
            "user_id": INT,
            "name": STR,
            "status": INT,
            "created_at": TIME,
            "updated_at": TIME,
        }
    ),
    "FirewallRule": obj(
        {
            "id": INT,
            "name": STR,
            "direction": {"enum": ["in", "out"]},
            "type": STR,
            "protocol": {"enum": ["TCP", "UDP", "ICMP"]},
            "port": STR,
            "source": STR,
        }
    ),
    "Snapshot": obj(
        {
            "id": INT,
            "name": STR,
            "service_id": STR,
            "user_id": {"type": "string", "description": "a string here, an int elsewhere"},
            "disk_id": INT,
            "volume": INT,
            "slot_number": INT,
            "status": {"enum": ["running", "created", "failed"]},
            "size": {"type": "string", "description": 'bytes; "" until created'},
            "deleted": INT,
            "completed_timestamp": {
                "type": "string",
                "description": '"0000-00-00 00:00:00" until created',
            },
            "deleted_timestamp": STR,
        }
    ),
}

_INSTANCE_COMMON: dict[str, Schema] = {
    "id": INT,
    "instance_name": STR,
    "set_no": INT,
    "vps_kind": INT,
    "sequence_id": INT,
    "user_id": INT,
    "service_id": STR,
    "status": {"enum": ["READY", "OPEN"]},
    "sshkey_id": INT,
    "snapshot_id": INT,
    "created_at": TIME,
    "host_id": INT,
    "plan_id": INT,
    "plan": STR,
    "disk_point": INT,
    "memsize": NUM,
    "cpus": INT,
    "os_id": INT,
    "otherstatus": INT,
    "uuid": nullable(STR),
    "uidgid": INT,
    "vnc_port": INT,
    "vnc_passwd": STR,
    "arpaname": nullable(STR),
    "arpadate": INT,
    "started_at": TIME_OR_NULL,
    "closed_at": NULL,  # sic: always null (api/instances.py)
    "vm_revert": INT,
    "ipaddress": nullable(STR),
    "secondary_ip": nullable(STR),
    "macaddress": nullable(STR),
    "instancetype_id": INT,
    "import_instance": INT,
    "container_id": nullable(STR),
    "daemonstatus": STR,
    "outofstock": INT,
    "ipaddress_type": STR,
}
COMPONENTS["Instance"] = {
    **obj(
        {
            **_INSTANCE_COMMON,
            "VEID": STR,
            "os": nullable(ref("Os")),
            "ip": STR,
            "instancecreatedbyuser": STR,
            "regionname": STR,
            "instancestatus": STR,
            "instancetype": nullable(ref("InstanceType")),
        }
    ),
    "description": "An element of getinstancelist.",
}
COMPONENTS["CreatedInstance"] = {
    **obj(
        {
            **_INSTANCE_COMMON,
            "vps_kind": const("10"),
            "created_at": obj({"date": STR, "timezone_type": const(3), "timezone": const("UTC")}),
        }
    ),
    "description": "createinstance's `vms`: vps_kind is a string and created_at a PHP "
    "DateTime object here, unlike the list.",
}

# --- the table: (method, path) -> responses --------------------------------------------

INDIGO = "/webarenaIndigo/v1"


def ok(schema: Schema, description: str = "Success") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def coded(code: str, message: str, **extra: Schema) -> Schema:
    props = {"success": const(True), "message": const(message), "sucessCode": const(code)}
    return obj({**props, **extra})


BAD = "400"  # a malformed body or query, a bad value, or a rule of the platform
MISSING = "404"  # an unknown id, or one that belongs to another account


# The query parameters of the catalogue (declared by api/catalog.py).
def query_param(name: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": INT}


ERRORS: dict[str, Schema] = {
    "400": ok(ref("BackendError"), "Bad request (Indigo-shaped)"),
    "404": ok(ref("BackendError"), "No such resource in this account"),
}
GATEWAY: dict[str, Schema] = {
    "401": ok(ref("GatewayError"), "Missing, unknown or expired access token"),
    "429": ok(
        ref("GatewayError"),
        "Quota: 6 requests per calendar minute per API key (when enabled). X-Quota-* "
        "headers, no Retry-After.",
    ),
}
TOKEN_ERRORS: dict[str, Schema] = {
    "400": ok(ref("GatewayError"), "The token request could not be read"),
    "401": ok(ref("GatewayError"), "Invalid client credentials"),
}
ADMIN_DENIED: Schema = ok(ref("BackendError"), "The admin token is missing or wrong (A4101)")


# --- the human page (/docs) -------------------------------------------------------------

# Swagger UI from the package (api/static/swagger-ui, see its README), never from a CDN:
# aiiro's users often run it with no internet, where a CDN page stays blank.
SWAGGER_UI_VERSION = "5.35.0"
DOCS_ASSETS = "/docs/assets"
# The only files served under DOCS_ASSETS: a fixed list, so no path handling at all.
ASSET_TYPES: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@cache
def _asset(name: str) -> bytes:
    return resources.files("aiiro.api").joinpath("static", "swagger-ui", name).read_bytes()


def install(app: FastAPI, indigo: Sequence[Endpoint]) -> None:
    """Serve the completed document at /openapi.json (built once, on first request), and
    Swagger UI at /docs with its assets from the package (create_app sets docs_url=None)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, indigo)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    async def docs(request: Request) -> HTMLResponse:
        # Behind a proxy that strips a prefix, every URL the page loads keeps the prefix.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        assets = f"{root}{DOCS_ASSETS}"
        version = f"?v={SWAGGER_UI_VERSION}"
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — API reference",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js{version}",
            swagger_css_url=f"{assets}/swagger-ui.css{version}",
            swagger_favicon_url=f"{assets}/favicon-32x32.png{version}",
            # No badge that asks validator.swagger.io about the document.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )

    async def docs_asset(request: Request) -> Response:
        name = request.path_params["name"]
        media_type = ASSET_TYPES.get(name)
        if media_type is None:
            raise HTTPException(404)
        # URLs carry ?v=<Swagger UI version>, so a long cache life is safe across upgrades.
        return Response(
            _asset(name),
            media_type=media_type,
            headers={"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"},
        )

    # Plain Starlette routes, like FastAPI's own /docs: they answer HEAD too.
    app.add_route("/docs", docs, include_in_schema=False)
    app.add_route(DOCS_ASSETS + "/{name}", docs_asset, include_in_schema=False)


def build(app: FastAPI, indigo: Sequence[Endpoint]) -> dict[str, Any]:
    """The Indigo endpoints from their declarations (api/endpoint.py), then what FastAPI
    says of the other routes (/_aiiro/), completed with the admin token and errors."""
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = doc.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)  # aiiro never answers 422
    schemas.update(copy.deepcopy(COMPONENTS))
    components["securitySchemes"] = {
        "indigoToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "The accessToken from POST /oauth/v1/accesstokens",
        },
        "aiiroAdmin": {
            "type": "http",
            "scheme": "bearer",
            "description": "The admin token printed by `aiiro serve` on first start",
        },
    }
    paths: dict[str, Any] = {}
    for endpoint in indigo:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation(endpoint)
    for path, ops in doc.get("paths", {}).items():
        for op in ops.values():
            op.setdefault("responses", {}).pop("422", None)
            if path.startswith("/_aiiro/") and path != "/_aiiro/health":
                _admin(op)
        paths[path] = ops
    _hoist_defs(paths, schemas)
    doc["paths"] = paths
    return doc


PATH_PARAMETER = re.compile(r"{(\w+)}")


def operation(endpoint: Endpoint) -> dict[str, Any]:
    """One Indigo endpoint's operation, from its declaration."""
    op: dict[str, Any] = {
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "operationId": endpoint.handler.__name__,
    }
    # Indigo's path ids are decimal integers.
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
        for name in PATH_PARAMETER.findall(endpoint.path)
    ]
    params += copy.deepcopy(list(endpoint.query))
    if params:
        op["parameters"] = params
    body = endpoint.body_doc
    if endpoint.body is not None:
        body = endpoint.body.model_json_schema(ref_template="#/components/schemas/{model}")
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": copy.deepcopy(body)}},
        }
    responses = copy.deepcopy(endpoint.answers)
    if endpoint.gateway:
        responses.update(copy.deepcopy(TOKEN_ERRORS))
    else:
        # Every backend endpoint reads its body or query leniently: a body that is not
        # JSON is a 400 wherever a body is read.
        responses.update({code: copy.deepcopy(ERRORS[code]) for code in endpoint.errors})
        responses.update(copy.deepcopy(GATEWAY))
        op["security"] = [{"indigoToken": []}]
    op["responses"] = responses
    return op


def _admin(op: dict[str, Any]) -> None:
    responses = op["responses"]
    op["security"] = [{"aiiroAdmin": []}]
    responses.setdefault("401", copy.deepcopy(ADMIN_DENIED))
    if any(p.get("in") == "path" for p in op.get("parameters", [])) or "requestBody" in op:
        responses.setdefault("400", copy.deepcopy(ERRORS["400"]))
        responses.setdefault("404", copy.deepcopy(ERRORS["404"]))


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> None:
    """Move pydantic's nested `$defs` into components (their $refs point there)."""
    if isinstance(node, dict):
        defs = node.pop("$defs", None)
        if isinstance(defs, dict):
            for name, schema in defs.items():
                schemas.setdefault(name, schema)
                _hoist_defs(schema, schemas)
        for value in node.values():
            _hoist_defs(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, schemas)
