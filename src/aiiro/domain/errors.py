"""Errors the domain raises, each carrying the Indigo code, message and HTTP status.

Codes observed on the real service keep their exact text (indigo-api-facts.md §2.7).
Where the real service's answer is unknown, aiiro uses its own codes in the `A` range,
listed in docs/compatibility.md.
"""

from __future__ import annotations


class IndigoError(Exception):
    """An application error, rendered {"success":false,"errorMessage":..,"errorCode":..}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class GatewayError(Exception):
    """An API-gateway error, rendered in the gateway's shape (401, 429)."""

    def __init__(self, status: int, message: str, developer_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.developer_message = developer_message


# --- aiiro's own codes (the real service's are unknown) --------------------------------
BAD_JSON = "A4000"  # body is not JSON / not a JSON object
MISSING_FIELD = "A4001"
INVALID_FIELD = "A4002"
INVALID_QUERY = "A4003"
NOT_FOUND = "A4040"  # no such path
SSHKEY_NOT_FOUND = "A4041"
APIKEY_NOT_FOUND = "A4042"
INSTANCE_NOT_FOUND = "A4043"
FIREWALL_NOT_FOUND = "A4044"
SNAPSHOT_NOT_FOUND = "A4045"
METHOD_NOT_ALLOWED = "A4050"
INTERNAL = "A5000"


def bad_request(code: str, message: str) -> IndigoError:
    return IndigoError(400, code, message)


def not_found(code: str, message: str) -> IndigoError:
    return IndigoError(404, code, message)


def missing(field: str) -> IndigoError:
    return IndigoError(400, MISSING_FIELD, f"The {field} field is required.")


def invalid(field: str, why: str) -> IndigoError:
    return IndigoError(400, INVALID_FIELD, f"The {field} field {why}.")
