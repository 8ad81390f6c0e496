"""api/render.py: Indigo's response shapes byte for byte (status, media type, body), written
out as literals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from starlette.responses import Response

from aiiro.api import render
from aiiro.domain.errors import GatewayError, IndigoError


def parts(r: Response) -> tuple[int, str, bytes]:
    return r.status_code, r.headers["content-type"], bytes(r.body)


def test_php_json_is_compact_with_escaped_slashes_and_ascii() -> None:
    data = {"a": "x/y", "b": [1, 2.5, None, True], "c": "鍵é", "d": {"e": ""}}
    assert render.php_json(data) == (
        b'{"a":"x\\/y","b":[1,2.5,null,true],"c":"\\u9375\\u00e9","d":{"e":""}}'
    )


def test_php_array_joins_rendered_items_as_php_json_would_write_the_list() -> None:
    assert render.php_array([]) == b"[]"
    assert render.php_array([b'{"a":"x\\/y"}']) == b'[{"a":"x\\/y"}]'
    items = (render.php_json(x) for x in ({"id": 1}, "é", None))
    assert render.php_array(items) == b'[{"id":1},"\\u00e9",null]'


def test_backend_is_json_with_the_status_given() -> None:
    assert parts(render.backend([1, "/"])) == (200, "application/json", b'[1,"\\/"]')
    assert parts(render.backend({}, 201)) == (201, "application/json", b"{}")


def test_success_puts_extra_keys_after_the_message() -> None:
    r = render.success("Done.", z=1, a="b")
    body = b'{"success":true,"message":"Done.","z":1,"a":"b"}'
    assert parts(r) == (200, "application/json", body)
    assert render.success("Made.", 201).status_code == 201


def test_coded_success_spells_sucesscode_with_one_c() -> None:
    r = render.coded_success("Ok.", "I20008", instanceStatus="running")
    assert parts(r) == (
        200,
        "application/json",
        b'{"success":true,"message":"Ok.","sucessCode":"I20008","instanceStatus":"running"}',
    )
    assert render.coded_success("Ok.", "F60002", 201).status_code == 201


def test_listing_counts_its_items() -> None:
    r = render.listing("sshkeys", [{"id": 1}, {"id": 2}])
    assert parts(r) == (
        200,
        "application/json",
        b'{"success":true,"total":2,"sshkeys":[{"id":1},{"id":2}]}',
    )
    assert render.listing_body("x", []) == b'{"success":true,"total":0,"x":[]}'


def test_rendered_and_status_zero() -> None:
    assert parts(render.rendered(b"[]")) == (200, "application/json", b"[]")
    assert parts(render.rendered(b"{}", 201)) == (201, "application/json", b"{}")
    assert render.STATUS_OK == b'{"STATUS":0}'
    assert parts(render.status_zero()) == (200, "application/json", b'{"STATUS":0}')
    assert render.status_zero(201).status_code == 201


def test_error_is_the_backend_error_shape() -> None:
    r = render.error(IndigoError(404, "A4043", "Instance not found."))
    assert parts(r) == (
        404,
        "application/json",
        b'{"success":false,"errorMessage":"Instance not found.","errorCode":"A4043"}',
    )


def test_gateway_error_is_the_gateway_shape() -> None:
    err = GatewayError(401, "Invalid access token.", "Invalid or expired access token.")
    r = render.gateway_error(err, "req-1", {"Retry-After": "5"})
    assert parts(r) == (
        401,
        "application/json",
        b'{"errorCode": "401", "errorMessage": "Invalid access token.", '
        b'"developerMessage": "Invalid or expired access token.", "moreInfo": null, '
        b'"requestId": "req-1"}',
    )
    assert r.headers["retry-after"] == "5"
    # Without a request id, a fresh UUID stands in.
    made = json.loads(bytes(render.gateway_error(err).body))["requestId"]
    assert len(made) == 36 and made.count("-") == 4


def test_token_body_is_the_gateways_template() -> None:
    assert render.token_body("A" * 28, 1_700_000_000_123, 3599) == (
        b'{"accessToken": "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "tokenType": "BearerToken", '
        b'"expiresIn": "3599" , "scope": "" , "issuedAt": "1700000000123"}'
    )


def test_timestamps() -> None:
    assert render.timestamp(None) is None
    assert render.timestamp(datetime(2024, 5, 6, 7, 8, 9, 999_999)) == "2024-05-06 07:08:09"
    assert render.timestamp(datetime(1999, 12, 31, 23, 59, 59)) == "1999-12-31 23:59:59"
    aware = datetime(2024, 5, 6, 7, 8, 9, 500, tzinfo=UTC)
    assert render.timestamp(aware) == "2024-05-06 07:08:09"
    # An aware time is written as it is, in its own zone.
    tokyo = datetime(2024, 5, 6, 16, 8, 9, tzinfo=timezone(timedelta(hours=9)))
    assert render.timestamp(tokyo) == "2024-05-06 16:08:09"
    assert render.ZERO_TIME == "0000-00-00 00:00:00"


def test_fields_shows_a_rows_attributes_and_its_times_as_timestamps() -> None:
    class Row:
        id = 7
        name = "web-1"
        status = None
        created_at = datetime(2024, 5, 6, 7, 8, 9, 12)
        deleted_at = None

    shown = render.fields(Row(), ("id", "name", "status"), ("created_at", "deleted_at"))
    assert list(shown.items()) == [
        ("id", 7),
        ("name", "web-1"),
        ("status", None),
        ("created_at", "2024-05-06 07:08:09"),
        ("deleted_at", None),
    ]
    assert render.fields(Row(), ("name",)) == {"name": "web-1"}


def test_php_datetime() -> None:
    assert render.php_datetime(datetime(2024, 5, 6, 7, 8, 9, 12)) == {
        "date": "2024-05-06 07:08:09.000012",
        "timezone_type": 3,
        "timezone": "UTC",
    }
