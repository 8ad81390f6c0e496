"""Catalogue endpoints against the production values of facts §4.2 and §7."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.serve import build_app
from tests.conftest import Account, make_account

VM = "/webarenaIndigo/v1/vm"
TS = "2019-10-09 13:11:20"
INSTANCE_TYPE_1 = {
    "id": 1,
    "name": "instance",
    "display_name": "KVM Instance",
    "created_at": TS,
    "updated_at": TS,
}

# facts §7.3: (category id, name, logo, code, [(os id, name, viewname)])
OS_CATEGORIES: list[tuple[int, str, str, str, list[tuple[int, str, str]]]] = [
    (
        1,
        "Ubuntu",
        "Ubudu.png",
        "Ubuntu",
        [
            (1, "Ubuntu18.04", "Ubuntu 18.04"),
            (6, "Ubuntu20.04", "Ubuntu 20.04"),
            (13, "Ubuntu22.04", "Ubuntu 22.04"),
            (25, "Ubuntu24.04", "Ubuntu 24.04"),
        ],
    ),
    (
        2,
        "CentOS",
        "CentOS.png",
        "CentOS",
        [
            (2, "CentOS7.5", "CentOS 7.5"),
            (5, "CentOS8.1", "CentOS 8.1"),
            (9, "CentOS_Stream8", "CentOS Stream8"),
            (14, "CentOS_Stream9", "CentOS Stream9"),
        ],
    ),
    (3, "Import VM", "ImportVm.png", "", []),
    (
        4,
        "Windows",
        "windows.png",
        "WinOS",
        [
            (7, "WindowsServer2019", "Windows Server 2019 (no-RDS)"),
            (11, "WindowsServer2022", "Windows Server 2022 (no-RDS)"),
        ],
    ),
    (
        5,
        "Rocky",
        "Rocky.png",
        "Rocky",
        [
            (10, "RockyLinux8.4", "Rocky Linux 8.4"),
            (19, "RockyLinux9.0", "Rocky Linux 9.0"),
            (23, "RockyLinux9.3", "Rocky Linux 9.3"),
        ],
    ),
    (6, "Oracle", "Oracle.png", "Oracle", [(15, "OracleLinux8.6", "Oracle Linux 8.6")]),
    (
        7,
        "Alma",
        "Alma.png",
        "Alma",
        [
            (16, "AlmaLinux8.6", "AlmaLinux 8.6"),
            (17, "AlmaLinux9.0", "AlmaLinux 9.0"),
            (24, "AlmaLinux9.3", "AlmaLinux 9.3"),
        ],
    ),
    (
        8,
        "Debian",
        "Debian.png",
        "Debian",
        [(18, "Debian11", "Debian 11"), (22, "Debian12", "Debian 12")],
    ),
    (
        9,
        "KUSANAGI",
        "",
        "KUSANAGI",
        [
            (20, "KUSANAGI9_CentOS_Stream8", "KUSANAGI 9 (CentOS Stream8)"),
            (21, "KUSANAGI9_CentOS_Stream9", "KUSANAGI 9 (CentOS Stream9)"),
        ],
    ),
]

# facts §7.4: id -> (code, name, ipaddress_type, kvm id, kvm name, limitnum, Mbps,
#                    use_possible_date, created_at)
PLANS: dict[int, tuple[str, str, str, int, str, int, int, str, str]] = {
    1: ("1vCPU1GB20GB", "Memory1GB,1vCPU,SSD20GB", "ipv46dual", 1, "1CR1GB", 1, 100,
        "2019-10-03 00:00:00", "2019-10-09 13:11:49"),
    2: ("2vCPU2GB40GB", "Memory2GB,2vCPU,SSD40GB", "ipv46dual", 8, "2CR2GB", 2, 100,
        "2019-10-03 00:00:00", "2019-10-09 13:11:49"),
    3: ("4vCPU4GB80GB", "Memory4GB,4vCPU,SSD80GB", "ipv46dual", 15, "4CR4GB", 4, 500,
        "2019-11-19 00:00:00", "2019-10-09 13:11:49"),
    4: ("6vCPU8GB160GB", "Memory8GB,6vCPU,SSD160GB", "ipv46dual", 22, "6CR8GB", 6, 1000,
        "2019-11-19 00:00:00", "2019-10-09 13:11:49"),
    5: ("6vCPU16GB320GB", "Memory16GB,6vCPU,SSD320GB", "ipv46dual", 29, "6CR16GB", 6, 1000,
        "2020-04-22 00:00:00", "2020-04-23 01:20:39"),
    6: ("8vCPU32GB640GB", "Memory32GB,8vCPU,SSD640GB", "ipv46dual", 36, "8CR32GB", 8, 1000,
        "2020-04-22 00:00:00", "2020-04-23 01:20:39"),
    13: ("1vCPU768MB20GB", "Memory768MB,1vCPU,SSD20GB", "ipv6", 85, "1CR768MB", 1, 100,
         "2022-03-27 00:00:00", "2022-03-28 05:05:16"),
    7: ("2vCPU1GB50GB", "Memory1GB,2vCPU,SSD50GB", "ipv4", 43, "2CR1GB", 2, 100,
        "2020-10-14 00:00:00", "2020-10-05 08:50:4"),
    8: ("3vCPU2GB100GB", "Memory2GB,3vCPU,SSD100GB", "ipv4", 50, "3CR2GB", 3, 100,
        "2020-10-14 00:00:00", "2020-10-05 08:50:4"),
    9: ("4vCPU4GB200GB", "Memory4GB,4vCPU,SSD200GB", "ipv4", 57, "4CR4GB", 4, 500,
        "2020-10-14 00:00:00", "2020-10-05 08:50:4"),
    10: ("6vCPU8GB400GB", "Memory8GB,6vCPU,SSD400GB", "ipv4", 64, "6CR8GB", 6, 1000,
         "2020-10-14 00:00:00", "2020-10-05 08:50:4"),
    11: ("8vCPU16GB800GB", "Memory16GB,8vCPU,SSD800GB", "ipv4", 71, "8CR16GB", 8, 1000,
         "2020-10-14 00:00:00", "2020-10-05 08:50:4"),
    12: ("10vCPU32GB1600GB", "Memory32GB,10vCPU,SSD1600GB", "ipv4", 78, "10CR32GB", 10, 1000,
         "2020-10-14 00:00:00", "2020-10-05 08:50:4"),
}  # fmt: skip
LINUX_PLANS = [1, 2, 3, 4, 5, 6, 13]
WINDOWS_PLANS = [7, 8, 9, 10, 11, 12]


def test_instance_types(alice: Account) -> None:
    r = alice.get(f"{VM}/instancetypes")
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "total": 2,
        "instanceTypes": [
            INSTANCE_TYPE_1,
            {**INSTANCE_TYPE_1, "id": 2, "name": "microvps", "display_name": "MicroVPS"},
        ],
    }
    assert r.text.startswith('{"success":true,"total":2,"instanceTypes":[{"id":1,"name":')


def test_regions_of_type_1_are_tokyo_only(alice: Account) -> None:
    r = alice.get(f"{VM}/getregion?instanceTypeId=1")
    assert r.text == (
        '{"success":true,"total":1,"regionlist":[{"id":1,"oem_id":1,"name":"Tokyo",'
        '"use_possible_date":"2019-10-03 23:07:19"}]}'
    )


def test_type_2_has_no_regions_and_no_plans(alice: Account) -> None:
    assert alice.get(f"{VM}/getregion?instanceTypeId=2").text == (
        '{"success":true,"total":0,"regionlist":[]}'
    )
    assert alice.get(f"{VM}/getinstancespec?instanceTypeId=2&osId=1").text == (
        '{"success":true,"total":0,"speclist":[]}'
    )


def test_os_list_has_the_nine_categories_in_order(alice: Account) -> None:
    body = alice.get(f"{VM}/oslist?instanceTypeId=1").json()
    assert list(body) == ["success", "total", "osCategory"]
    # `total` counts categories, not images.
    assert body["total"] == 9 == len(body["osCategory"])
    for got, (cat_id, name, logo, code, images) in zip(
        body["osCategory"], OS_CATEGORIES, strict=True
    ):
        assert list(got) == ["id", "name", "logo", "osLists"]
        assert (got["id"], got["name"], got["logo"]) == (cat_id, name, logo)
        assert got["osLists"] == [
            {
                "id": os_id,
                "categoryid": cat_id,
                "code": code,
                "name": os_name,
                "viewname": viewname,
                "instancetype_id": 1,
            }
            for os_id, os_name, viewname in images
        ]


def test_os_list_hides_the_import_os(alice: Account) -> None:
    body = alice.get(f"{VM}/oslist?instanceTypeId=1").json()
    listed = {i["id"] for c in body["osCategory"] for i in c["osLists"]}
    assert listed.isdisjoint({3, 4, 8, 12})


def test_os_list_of_type_2_keeps_the_categories_with_empty_lists(alice: Account) -> None:
    body = alice.get(f"{VM}/oslist?instanceTypeId=2").json()
    assert body["total"] == 9
    assert [c["name"] for c in body["osCategory"]] == [c[1] for c in OS_CATEGORIES]
    assert all(c["osLists"] == [] for c in body["osCategory"])


def expected_plan(plan_id: int) -> dict[str, Any]:
    code, name, ip_type, kvm_id, kvm_name, cpus, mbps, usable, created = PLANS[plan_id]
    mem = name.split(",")[0].removeprefix("Memory")
    mem = mem.replace("GB", " GB").replace("MB", " MB")
    disk = name.split("SSD")[1].replace("GB", " GB")
    return {
        "id": plan_id,
        "code": code,
        "name": name,
        "description": f"<b>{cpus}</b> vCPU <br> <b>{mem}</b> RAM <br> <b>{disk}</b> SSD "
        f"<br><b>{mbps} </b> Mbps",
        "use_possible_date": usable,
        "instancetype_id": 1,
        "ipaddress_type": ip_type,
        "kvm_resources": {
            "id": kvm_id,
            "plan_id": plan_id,
            "name": kvm_name,
            "param": "vcpus",
            "limitnum": cpus,
        },
        "instance_type": INSTANCE_TYPE_1,
        "created_at": created,
    }


def check_speclist(items: list[dict[str, Any]], plan_ids: list[int]) -> None:
    assert [p["id"] for p in items] == plan_ids
    for item in items:
        want = expected_plan(item["id"])
        assert list(item) == [
            "id",
            "code",
            "name",
            "description",
            "use_possible_date",
            "instancetype_id",
            "ipaddress_type",
            "created_at",
            "updated_at",
            "instance_type",
            "kvm_resources",
        ]
        assert item["created_at"].startswith(want.pop("created_at"))
        assert item["updated_at"] == item["created_at"]
        assert {k: item[k] for k in want} == want


def test_linux_images_get_plans_1_to_6_and_13(alice: Account) -> None:
    for os_id in (1, 6, 13, 25, 2, 5, 9, 14, 10, 19, 23, 15, 16, 17, 24, 18, 22, 20, 21):
        body = alice.get(f"{VM}/getinstancespec?instanceTypeId=1&osId={os_id}").json()
        assert body["total"] == 7, os_id
        check_speclist(body["speclist"], LINUX_PLANS)


def test_windows_images_get_plans_7_to_12(alice: Account) -> None:
    for os_id in (7, 11):
        body = alice.get(f"{VM}/getinstancespec?instanceTypeId=1&osId={os_id}").json()
        assert body["total"] == 6, os_id
        check_speclist(body["speclist"], WINDOWS_PLANS)


def test_plan_13_matches_the_observed_item_byte_for_byte(alice: Account) -> None:
    r = alice.get(f"{VM}/getinstancespec?instanceTypeId=1&osId=22")
    observed = (
        '{"id":13,"code":"1vCPU768MB20GB","name":"Memory768MB,1vCPU,SSD20GB",'
        '"description":"<b>1<\\/b> vCPU <br> <b>768 MB<\\/b> RAM <br> <b>20 GB<\\/b> SSD '
        '<br><b>100 <\\/b> Mbps",'
        '"use_possible_date":"2022-03-27 00:00:00","instancetype_id":1,"ipaddress_type":"ipv6",'
        '"created_at":"2022-03-28 05:05:16","updated_at":"2022-03-28 05:05:16",'
        '"instance_type":{"id":1,"name":"instance","display_name":"KVM Instance",'
        '"created_at":"2019-10-09 13:11:20","updated_at":"2019-10-09 13:11:20"},'
        '"kvm_resources":{"id":85,"plan_id":13,"name":"1CR768MB","param":"vcpus","limitnum":1}}'
    )
    assert observed in r.text


def test_unknown_os_gets_no_plans(alice: Account) -> None:
    r = alice.get(f"{VM}/getinstancespec?instanceTypeId=1&osId=4")
    assert r.json() == {"success": True, "total": 0, "speclist": []}


def test_missing_instance_type_means_type_1(alice: Account) -> None:
    assert (
        alice.get(f"{VM}/getregion").json() == alice.get(f"{VM}/getregion?instanceTypeId=1").json()
    )
    assert alice.get(f"{VM}/oslist").json() == alice.get(f"{VM}/oslist?instanceTypeId=1").json()
    assert (
        alice.get(f"{VM}/getinstancespec?osId=1").json()
        == alice.get(f"{VM}/getinstancespec?instanceTypeId=1&osId=1").json()
    )


def test_non_numeric_query_values_are_400(alice: Account) -> None:
    for query in ("instanceTypeId=abc", "instanceTypeId=1.5", "osId=x"):
        r = alice.get(f"{VM}/getinstancespec?{query}")
        assert r.status_code == 400, query
        body = r.json()
        assert body["success"] is False and body["errorCode"] == "A4002"


def test_catalogue_needs_a_token(client: TestClient) -> None:
    for path in ("instancetypes", "getregion", "oslist", "getinstancespec"):
        assert client.get(f"{VM}/{path}").status_code == 401, path


def test_an_operator_catalogue_file_replaces_the_packaged_one(
    tmp_path: Path, settings: Settings
) -> None:
    from importlib import resources

    data = json.loads(resources.files("aiiro.data").joinpath("catalog.json").read_text())
    data["regions"][0]["name"] = "Osaka"
    data["plans"] = [p for p in data["plans"] if p["id"] in (1, 7)]
    path = tmp_path / "my-catalog.json"
    path.write_text(json.dumps(data))
    app = build_app(settings.model_copy(update={"catalog_file": path}))
    try:
        with TestClient(app) as client:
            who = make_account(app.state.runtime, client)
            assert who.get(f"{VM}/getregion?instanceTypeId=1").json()["regionlist"][0]["name"] == (
                "Osaka"
            )
            specs = who.get(f"{VM}/getinstancespec?instanceTypeId=1&osId=1").json()
            assert [p["id"] for p in specs["speclist"]] == [1]
            assert "aiiro" not in json.dumps(specs)  # aiiro's private keys are never served
    finally:
        app.state.runtime.db.dispose()
