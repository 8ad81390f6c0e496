"""What the API returns, as plain data: the SDK's one home for Indigo's shape quirks.

Each function here takes an element of an answer, exactly as decoded from JSON, and
returns a plain dict (JSON-able, keys in a fixed order) with the quirks absorbed:
- ids and numbers arrive as JSON numbers or strings ("616513", user_id "2130", size
  "1071529984", vps_kind "10") and become ints; "" becomes None;
- timestamps arrive as "YYYY-MM-DD HH:MM:SS" (UTC), as the zero time "0000-00-00 00:00:00",
  or (createinstance only) as a PHP DateTime object with microseconds; they become
  "YYYY-MM-DD HH:MM:SS" (whole seconds, as the list sends them) or None;
- an instance looks different in the create answer and in the list; both give one shape;
- IPv6 addresses come uppercase and zero-padded, and `arpaname` lost its final "jp";
  `instancecreatedbyuser` carries a trailing space.

`aiiro.client.models` builds its typed models from these dicts (times become datetimes);
the CLI's list commands print them as they are.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

Raw = dict[str, Any]  # an element as the API sent it
Plain = dict[str, Any]  # the same, quirks absorbed


# --- values ---------------------------------------------------------------------------


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return None


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def as_time(value: Any) -> str | None:
    """The time as "YYYY-MM-DD HH:MM:SS" (naive UTC), from any of the API's time forms;
    None for the zero time, null, "" or anything that is not a valid date and time."""
    if isinstance(value, dict):  # createinstance: {"date": "... .875022", "timezone": "UTC"}
        value = value.get("date")
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) == 10:  # a date alone
        text += " 00:00:00"
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    fraction = text[19:]  # "" or ".875022": dropped, so that create and list agree
    if (
        not _decimal(digits, 14)
        or text[4] + text[7] + text[10] + text[13] + text[16] not in ("-- ::", "--T::")
        or (fraction and not (fraction[0] == "." and _decimal(fraction[1:])))
    ):
        return None
    year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
    hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if year == 0 or not 1 <= month <= 12:  # (the zero time)
        return None
    if not 1 <= day <= _DAYS[month - 1] + (month == 2 and leap):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    return f"{text[:10]} {text[11:19]}"


def _decimal(text: str, length: int | None = None) -> bool:
    """ASCII digits only (int() would also take "+1", " 1", "1_0", "١")."""
    return (length is None or len(text) == length) and text.isascii() and text.isdigit()


def as_ip(value: Any) -> str | None:
    """An address; IPv6 compressed and lower-case ("2001:02C0:...:0001" -> "2001:2c0:...:1").
    Anything that is not an address is kept as it came."""
    text = as_str(value)
    if text is None or ":" not in text:
        return text
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def hostname(value: Any) -> str | None:
    """`arpaname`: Indigo cuts the final "jp" off "....arena.ne.jp"."""
    text = as_str(value)
    if text is not None and text.endswith(".arena.ne."):
        return text + "jp"
    return text


def elements(body: Any, *keys: str) -> list[Raw]:
    """The objects of a list answer: the answer itself, or (with `keys`) the array under
    the first of `keys` that is set. Null, or anything but an array, gives []."""
    if keys:
        found = [body[k] for k in keys if body.get(k)] if isinstance(body, dict) else []
        body = found[0] if found else None
    return [x for x in body if isinstance(x, dict)] if isinstance(body, list) else []


# --- resources ------------------------------------------------------------------------


def apikey(d: Raw) -> Plain:
    return {
        "id": as_int(d.get("id")) or 0,
        "api_key": str(d.get("apiKey", "")),
        "created_at": as_time(d.get("created_at")),
    }


def sshkey(d: Raw) -> Plain:
    return {
        "id": as_int(d.get("id")) or 0,
        "name": str(d.get("name", "")),
        "sshkey": str(d.get("sshkey", "")),
        "status": str(d.get("status", "")),  # ACTIVE or DEACTIVE (sic)
        "user_id": as_int(d.get("user_id")),
        "service_id": as_str(d.get("service_id")),
        "created_at": as_time(d.get("created_at")),
        "updated_at": as_time(d.get("updated_at")),
    }


def instance_type(d: Raw) -> Plain:
    return {
        "id": as_int(d.get("id")) or 0,
        "name": str(d.get("name", "")),
        "display_name": str(d.get("display_name", "")),
    }


def region(d: Raw) -> Plain:
    return {"id": as_int(d.get("id")) or 0, "name": str(d.get("name", ""))}


def os_image(d: Raw) -> Plain:
    return {
        "id": as_int(d.get("id")) or 0,
        "name": str(d.get("name", "")),  # "Debian12"
        "viewname": str(d.get("viewname") or d.get("name", "")),  # "Debian 12"
        "code": as_str(d.get("code")),  # the category's base name: "Debian", "WinOS" ...
        "category_id": as_int(d.get("categoryid")),
        "instancetype_id": as_int(d.get("instancetype_id")),
    }


def plan(d: Raw) -> Plain:
    kvm_raw = d.get("kvm_resources")
    kvm: Raw = kvm_raw if isinstance(kvm_raw, dict) else {}
    return {
        "id": as_int(d.get("id")) or 0,
        "code": str(d.get("code") or ""),  # "1vCPU768MB20GB"
        "resource": as_str(kvm.get("name")),  # the instance's `plan`: "1CR768MB"
        "name": str(d.get("name", "")),  # "Memory768MB,1vCPU,SSD20GB"
        "cpus": as_int(kvm.get("limitnum")),
        "ipaddress_type": as_str(d.get("ipaddress_type")),
        "instancetype_id": as_int(d.get("instancetype_id")),
    }


def instance(d: Raw) -> Plain:
    """From a list element or from the create answer's `vms` (whose `vps_kind` is the
    string "10", `created_at` a PHP DateTime object, and which has no `instancestatus`,
    `ip`, `os` or `regionname`)."""
    os_raw = d.get("os")
    return {
        "id": as_int(d.get("id")) or 0,
        "instance_name": str(d.get("instance_name", "")),
        "status": str(d.get("status") or ""),
        "instancestatus": as_str(d.get("instancestatus")),
        # While provisioning `ip` is "" and `ipaddress` null: both mean "no address".
        "ip": as_ip(d.get("ip")) or as_ip(d.get("ipaddress")),
        "ipaddress_type": as_str(d.get("ipaddress_type")),
        "plan": as_str(d.get("plan")),
        "plan_id": as_int(d.get("plan_id")),
        "os_id": as_int(d.get("os_id")),
        "os": os_image(os_raw) if isinstance(os_raw, dict) else None,
        "region": as_str(d.get("regionname")),
        "sshkey_id": as_int(d.get("sshkey_id")),
        "snapshot_id": as_int(d.get("snapshot_id")),
        "cpus": as_int(d.get("cpus")),
        "memsize": as_float(d.get("memsize")),  # GB (0.768 for the 768 MB plan)
        "vps_kind": as_int(d.get("vps_kind")),
        "user_id": as_int(d.get("user_id")),
        "service_id": as_str(d.get("service_id")),
        "macaddress": as_str(d.get("macaddress")),
        "arpaname": hostname(d.get("arpaname")),
        "uuid": as_str(d.get("uuid")),
        "vnc_port": as_int(d.get("vnc_port")),
        "created_by": (as_str(d.get("instancecreatedbyuser")) or "").strip() or None,
        "import_instance": bool(as_int(d.get("import_instance"))),
        "created_at": as_time(d.get("created_at")),
        "started_at": as_time(d.get("started_at")),
    }


def firewall(d: Raw) -> Plain:
    return {
        "id": as_int(d.get("id")) or 0,
        "name": str(d.get("name", "")),
        "status": as_int(d.get("status")),
        "user_id": as_int(d.get("user_id")),
        "service_id": as_str(d.get("service_id")),
        "created_at": as_time(d.get("created_at")),
        "updated_at": as_time(d.get("updated_at")),
    }


def snapshot(d: Raw, instance_id: int | None = None) -> Plain:
    """`instance_id` is not in the API's element; the caller knows it from the request."""
    return {
        "id": as_int(d.get("id")) or 0,
        "name": str(d.get("name", "")),
        "status": str(d.get("status") or ""),  # running, created, failed
        "instance_id": instance_id,
        "size": as_int(d.get("size")),  # bytes; a string, "" while running
        "slot_number": as_int(d.get("slot_number")),
        "disk_id": as_int(d.get("disk_id")),
        "volume": as_int(d.get("volume")),
        "user_id": as_int(d.get("user_id")),  # a string in this endpoint's answer only
        "service_id": as_str(d.get("service_id")),
        "completed_at": as_time(d.get("completed_timestamp")),  # zero time until done
    }


# --- lists ------------------------------------------------------------------------------


class Listing:
    """A list call: its path, where its answer keeps the array, the shape of an element.
    The SDK's list calls and the CLI's list commands both read these."""

    __slots__ = ("keys", "path", "shape")

    def __init__(self, path: str, shape: Callable[[Raw], Plain], *keys: str) -> None:
        self.path = path
        self.shape = shape
        self.keys = keys

    def elements(self, body: Any) -> list[Raw]:
        return elements(body, *self.keys)


INSTANCES = Listing("/webarenaIndigo/v1/vm/getinstancelist", instance)  # a bare array
# {"success":true,"total":1,"sshkeys":[...]}; the docs' prose says `ssh_keys`.
SSHKEYS = Listing("/webarenaIndigo/v1/vm/sshkey", sshkey, "sshkeys", "ssh_keys")
FIREWALLS = Listing("/webarenaIndigo/v1/nw/getfirewalllist", firewall)  # a bare array
# {"success":true,"total":1,"accesstokens":[...]}: API keys are listed as `accesstokens`.
APIKEYS = Listing("/webarenaIndigo/v1/auth/apikey", apikey, "accesstokens")
LISTS = {"instance": INSTANCES, "sshkey": SSHKEYS, "firewall": FIREWALLS, "apikey": APIKEYS}
