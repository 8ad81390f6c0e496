"""Errors the domain raises, each carrying the Indigo code, message and HTTP status.

Codes observed on the real service keep their exact text (indigo-api-facts.md §2.7).
Where the real service's answer is unknown, aiiro uses its own codes in the `A` range,
listed in docs/compatibility.md.
"""

from __future__ import annotations


class IndigoError(Exception):
    """An application error, rendered {"success":false,"errorMessage":..,"errorCode":..}.
    `field` names the request field at fault where there is one (missing(), invalid()),
    so that the control panel can name it in the visitor's language."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


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
# instances (docs/lifecycle.md, docs/decisions.md "Instances")
OS_NOT_FOUND = "A4010"  # text "OS was not found" is observed, the code is not
IMPORT_URL_REQUIRED = "A4011"  # text "Import ULR required" (sic) is observed, the code is not
PLAN_NOT_FOUND = "A4012"
REGION_NOT_FOUND = "A4013"
PLAN_NOT_OFFERED = "A4014"  # plan / OS / region of different families or instance types
SSHKEY_UNKNOWN = "A4015"  # createinstance with an sshKeyId that is unknown or another's
SSHKEY_INACTIVE = "A4016"  # createinstance with a DEACTIVE key
WIN_PASSWORD_POLICY = "A4017"
INSTANCE_BUSY = "A4018"  # a command while another one is still being carried out
FAILED_INSTALL = "A4019"  # a power command on a failed installation (destroy is allowed)
RESET_OK = "A2001"  # success code of statusupdate "reset" (sucessCode)
# firewalls and snapshots (docs/compatibility.md)
FIREWALL_RULE_INVALID = "A4020"  # a rule that is not TCP/UDP/ICMP, port, source...
INSTANCE_NOT_READY = "A4021"  # assign / snapshot while the instance is provisioning
SNAPSHOT_SLOT_IN_USE = "A4030"
SNAPSHOT_NOT_READY = "A4031"  # restore or create from a snapshot that is not "created"
SNAPSHOT_NOT_FAILED = "A4032"  # retakesnapshot refused: still being taken (or the strict fault)
SNAPSHOT_BUSY = "A4033"  # delete while running, or a snapshot operation in progress
GUEST_NOT_ANSWERING = "A4034"  # admin file write: the guest is not up (stopped, at GRUB)
SIM_ONLY = "A4035"  # admin file access with a driver that does not model disks
NOT_FOUND = "A4040"  # no such path
SSHKEY_NOT_FOUND = "A4041"
APIKEY_NOT_FOUND = "A4042"
INSTANCE_NOT_FOUND = "A4043"
FIREWALL_NOT_FOUND = "A4044"
SNAPSHOT_NOT_FOUND = "A4045"
ACCOUNT_NOT_FOUND = "A4046"  # admin API: /_aiiro/accounts/{id}
METHOD_NOT_ALLOWED = "A4050"
ACCOUNT_EXISTS = "A4090"  # admin API: an account with that e-mail exists
# emulator (docs/emulator.md)
DAILY_CREATE_LIMIT = "A4060"  # createinstance refused by the emulated daily creation cap
LIMIT_REACHED = "A4070"  # the account holds as many instances/keys/templates as it may
FAULT_NOT_FOUND = "A4048"  # /_aiiro/faults/{id} with an unknown id
SCENARIO_NOT_FOUND = "A4049"  # /_aiiro/scenarios/{name} with an unknown name
ADMIN_TOKEN_REQUIRED = "A4101"  # /_aiiro/ without the admin token
ADMIN_NOT_HERE = "A4103"  # /_aiiro/ from beyond loopback and AIIRO_ADMIN_NETWORKS
INTERNAL = "A5000"
SERVICE_BUSY = "A5030"  # the store's write lock stayed taken longer than AIIRO_LOCK_WAIT_S
INJECTED_FAULT = "A5001"  # an injected http_error fault that names no errorCode


def bad_request(code: str, message: str) -> IndigoError:
    return IndigoError(400, code, message)


def not_found(code: str, message: str) -> IndigoError:
    return IndigoError(404, code, message)


def missing(field: str) -> IndigoError:
    return IndigoError(400, MISSING_FIELD, f"The {field} field is required.", field)


def invalid(field: str, why: str) -> IndigoError:
    return IndigoError(400, INVALID_FIELD, f"The {field} field {why}.", field)
