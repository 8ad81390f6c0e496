"""The libvirt compute driver: every instance is a real virtual machine.

An instance's durable record (`spec.state`, stored by the engine) says where it lives and
how far it got:

    host      the libvirt URI of its compute host (chosen once: most free memory among
              the hosts that answer; hosts.py)
    domain    its libvirt domain, "aiiro-<id>"
    dir       its directory: disk.qcow2, seed.iso, console.log, import files
    image     the base image it was made from (images/store.py)
    phase     downloading -> installing -> ready, or failed, or destroyed

"OS installation In Progress" is the guest's first boot: the tiny image installs the key
from the kernel command line, cloud images run cloud-init from the seed, and both power
off when done; the instance is then Stopped, as on Indigo. Imports download the URL and
are Stopped without booting.

Every call is idempotent: the engine repeats the operation in flight after a crash.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiiro.compute.driver import (
    FirewallRule,
    InstanceSpec,
    Observation,
    SnapshotSpec,
)
from aiiro.compute.libvirt import download
from aiiro.compute.libvirt.console import LibvirtConsole
from aiiro.compute.libvirt.domain_xml import DomainConfig, domain_xml, kernel_cmdline
from aiiro.compute.libvirt.hosts import Hosts, parse_uris, region_gateway
from aiiro.compute.libvirt.nwfilter import filter_name, filter_xml
from aiiro.compute.libvirt.seed import meta_data, network_config, user_data, write_seed_iso
from aiiro.images.store import Image, ImageStore, to_qcow2

if TYPE_CHECKING:
    from aiiro.runtime import Runtime

log = logging.getLogger("aiiro.libvirt")

DOWNLOADING = "downloading"
INSTALLING = "installing"
READY = "ready"
FAILED = "failed"
DESTROYED = "destroyed"
GIB = 1024**3


class LibvirtDriver:
    name = "libvirt"

    def __init__(self, rt: Runtime, hosts: Hosts | None = None) -> None:
        self.rt = rt
        self.settings = rt.settings
        self.hosts = hosts or Hosts(
            parse_uris(rt.settings.libvirt_uris), rt.settings.libvirt_host_timeout_s
        )
        storage = Path(rt.settings.libvirt_storage_dir)
        self.images = ImageStore(storage / "images")
        self.instances_dir = storage / "instances"

    # --- lifecycle ------------------------------------------------------------------------
    def provision(self, spec: InstanceSpec) -> None:
        st = spec.state
        if st.get("phase") in (DOWNLOADING, INSTALLING, READY, FAILED, DESTROYED):
            return  # already begun: observe follows it
        self._place(spec)
        st["domain"] = f"{self.settings.libvirt_name_prefix}{spec.id}"
        workdir = self.instances_dir / st["domain"]
        workdir.mkdir(parents=True, exist_ok=True)
        workdir.chmod(0o755)
        st["dir"] = str(workdir)
        self._ensure_filter(spec)

        if spec.import_url:
            st["image"] = None
            st["cloud_init"] = False
            st["phase"] = DOWNLOADING
            self._start_download(spec)
            return

        image = self._image_for(spec)
        if image is None:
            st["phase"] = FAILED
            st["error"] = f"no image for OS {spec.os_name} (id {spec.os_id}): see `aiiro images`"
            return
        st["image"] = image.name
        st["cloud_init"] = image.cloud_init
        disk = self._disk(spec)
        if spec.source_snapshot:
            _disk_from_snapshot(spec.source_snapshot, disk, spec.disk_gb)
        else:
            _overlay(image.disk, disk, spec.disk_gb)
        if image.cloud_init:
            self._write_seed(spec, image)
        dom = self._define(spec, first_boot=True)
        if not dom.isActive():
            dom.create()
        st["phase"] = INSTALLING
        st["install_started"] = self.rt.clock.time()

    def start(self, spec: InstanceSpec) -> None:
        if spec.state.get("phase") != READY:
            raise RuntimeError(f"instance {spec.id} is not installed (phase {self._phase(spec)})")
        # (Re)define first: the steady definition, whatever a revert or crash left.
        dom = self._define(spec, first_boot=False)
        if not dom.isActive():
            dom.create()

    def stop(self, spec: InstanceSpec) -> None:
        dom = self._domain(spec)
        if dom is not None and dom.isActive():
            dom.shutdown()  # ACPI power button; the guest decides

    def force_stop(self, spec: InstanceSpec) -> None:
        dom = self._domain(spec)
        if dom is not None and dom.isActive():
            dom.destroy()

    def reset(self, spec: InstanceSpec) -> None:
        dom = self._domain(spec)
        if dom is not None and dom.isActive():
            dom.reset(0)

    def destroy(self, spec: InstanceSpec) -> None:
        import libvirt

        st = spec.state
        if "host" not in st:
            self._find_leftovers(spec)
        if "host" in st:
            dom = self._domain(spec)
            if dom is not None:
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(
                    libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                    | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                )
            self._drop_filter(spec)
        if st.get("dir"):
            shutil.rmtree(st["dir"], ignore_errors=True)
        st["phase"] = DESTROYED

    def observe(self, spec: InstanceSpec) -> Observation:
        """What the machine is doing; HostUnreachable when its host does not answer."""
        if "host" not in spec.state:
            return self._observe(spec)
        with self.hosts.answering(spec.state["host"]):
            return self._observe(spec)

    def _observe(self, spec: InstanceSpec) -> Observation:
        st = spec.state
        phase = st.get("phase")
        if phase is None or phase == DESTROYED:
            return Observation("absent")
        if phase == FAILED:
            return Observation("provision_failed", detail=st.get("error", ""))
        if phase == DOWNLOADING:
            return self._observe_download(spec)
        dom = self._domain(spec)
        if dom is None:
            return Observation("absent")
        running = _is_running(dom)
        if phase == INSTALLING:
            if running:
                waited = self.rt.clock.time() - float(st.get("install_started", 0))
                if waited < self.settings.libvirt_install_timeout:
                    return Observation("provisioning", detail="first boot")
                log.warning("instance %s: first boot unfinished after %.0f s", spec.id, waited)
                dom.destroy()
            self._define(spec, first_boot=False)
            st["phase"] = READY
            return Observation("shutoff")
        return Observation("running" if running else "shutoff")

    # --- snapshots ------------------------------------------------------------------------
    def snapshot(self, spec: InstanceSpec, snap: SnapshotSpec) -> int:
        import libvirt

        dom = self._require_domain(spec)
        name = f"aiiro-snapshot-{snap.id}"
        try:
            dom.snapshotLookupByName(name)
        except libvirt.libvirtError:
            # A running guest gets a checkpoint (its memory too, so the disk is consistent
            # with it); restore keeps only the disk, like a power cut at that moment.
            xml = f"<domainsnapshot><name>{name}</name></domainsnapshot>"
            dom.snapshotCreateXML(xml, 0)
        snap.state.update(
            name=name,
            host=spec.state["host"],
            disk=str(self._disk(spec)),
            image=spec.state.get("image"),
            cloud_init=spec.state.get("cloud_init", False),
        )
        return _allocated_bytes(self._disk(spec))

    def restore(self, spec: InstanceSpec, snap: SnapshotSpec) -> None:
        import libvirt

        dom = self._require_domain(spec)
        target = dom.snapshotLookupByName(snap.state.get("name", f"aiiro-snapshot-{snap.id}"))
        dom.revertToSnapshot(
            target,
            libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED | libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE,
        )
        # A checkpoint comes back as a paused machine; Indigo restores only the disk and
        # leaves the instance stopped.
        if dom.isActive():
            dom.destroy()
        self._define(spec, first_boot=False)

    def delete_snapshot(self, spec: InstanceSpec, snap: SnapshotSpec) -> None:
        import libvirt

        dom = self._domain(spec)
        if dom is None:
            return
        try:
            target = dom.snapshotLookupByName(snap.state.get("name", f"aiiro-snapshot-{snap.id}"))
        except libvirt.libvirtError:
            return  # already gone
        target.delete(0)

    # --- network and console --------------------------------------------------------------
    def apply_firewall(self, spec: InstanceSpec, rules: list[FirewallRule] | None) -> None:
        st = spec.state
        if st.get("phase") == DESTROYED:
            return
        self._place(spec)
        st["firewall"] = None if rules is None else [r.__dict__ for r in rules]
        self._define_filter(spec, rules)

    def console(self, spec: InstanceSpec) -> LibvirtConsole:
        dom = self._require_domain(spec)
        log_file = Path(spec.state["dir"]) / "console.log" if spec.state.get("dir") else None
        return LibvirtConsole(self._conn(spec), dom, log_file)

    # --- internals ------------------------------------------------------------------------
    def _place(self, spec: InstanceSpec) -> None:
        """Choose the instance's host once; it stays there."""
        if "host" not in spec.state:
            spec.state["host"] = self.hosts.place(self._memory_mb(spec))

    def _find_leftovers(self, spec: InstanceSpec) -> None:
        """A provision that raised part-way (and that the engine gave up on) stored no
        record, but may have made a directory, a filter and a machine under the names it
        always gives them: find them, so that destroy removes them."""
        import libvirt

        name = f"{self.settings.libvirt_name_prefix}{spec.id}"
        if (self.instances_dir / name).is_dir():
            spec.state["dir"] = str(self.instances_dir / name)
        for uri in self.hosts.uris:
            try:
                conn = self.hosts.conn(uri)
                found = name in {d.name() for d in conn.listAllDomains()}
                if not found and conn.getType() != "TEST":
                    found = self._filter_name(spec) in conn.listNWFilters()
            except libvirt.libvirtError:
                continue  # a host that cannot be reached made nothing we can remove now
            if found:
                spec.state.update(host=uri, domain=name)
                return

    def _conn(self, spec: InstanceSpec) -> Any:
        return self.hosts.conn(spec.state["host"])

    def _domain(self, spec: InstanceSpec) -> Any | None:
        import libvirt

        if "host" not in spec.state:
            return None
        try:
            name = spec.state.get("domain", f"{self.settings.libvirt_name_prefix}{spec.id}")
            return self._conn(spec).lookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def _require_domain(self, spec: InstanceSpec) -> Any:
        dom = self._domain(spec)
        if dom is None:
            raise RuntimeError(f"instance {spec.id} has no machine")
        return dom

    def _phase(self, spec: InstanceSpec) -> str:
        return str(spec.state.get("phase"))

    def _disk(self, spec: InstanceSpec) -> Path:
        return Path(spec.state["dir"]) / "disk.qcow2"

    def _memory_mb(self, spec: InstanceSpec) -> int:
        scaled = int(spec.memory_mb * self.settings.libvirt_memory_scale)
        return max(self.settings.libvirt_memory_min_mb, scaled)

    def _image_for(self, spec: InstanceSpec) -> Image | None:
        if spec.source_snapshot and spec.source_snapshot.get("image"):
            return self.images.get(str(spec.source_snapshot["image"]))
        return self.images.image_for(spec.os_id)

    def _network(self, spec: InstanceSpec) -> tuple[str, int, str | None]:
        """(libvirt network, prefix length, gateway) of the instance's region: the gateway
        is the catalogue's, else the pool's first address; aiiro never hands it out."""
        name = self.settings.libvirt_network.format(region_id=spec.region_id)
        region = self.rt.catalog.region(spec.region_id)
        if region is None:
            return name, 32, None
        return name, region.ipv4_pool.prefixlen, str(region_gateway(region))

    def _define(self, spec: InstanceSpec, first_boot: bool) -> Any:
        """Define (or redefine) the domain: first boot or steady definition."""
        existing = self._domain(spec)
        uuid = existing.UUIDString() if existing is not None else None
        return self._conn(spec).defineXML(self._xml(spec, first_boot, uuid))

    def _xml(self, spec: InstanceSpec, first_boot: bool, uuid: str | None = None) -> str:
        st = spec.state
        workdir = Path(st["dir"])
        network, prefixlen, gateway = self._network(spec)
        if (
            spec.ipv4
            and gateway
            and ipaddress.ip_address(spec.ipv4) == ipaddress.ip_address(gateway)
        ):
            raise RuntimeError(f"instance {spec.id} was given the gateway address {gateway}")
        image = self.images.get(st["image"]) if st.get("image") else None
        kernel = image if image is not None and image.kind == "kernel" else None
        seed = workdir / "seed.iso"
        cfg = DomainConfig(
            name=st["domain"],
            title=spec.name,
            instance_id=spec.id,
            domain_type=self.hosts.domain_type(st["host"], self.settings.libvirt_domain_type),
            cpus=spec.cpus,
            memory_mb=self._memory_mb(spec),
            disk=self._disk(spec),
            network=network,
            mac=spec.mac,
            ipv4=spec.ipv4,
            filter_name=self._filter_name(spec),
            serial_log=workdir / "console.log",
            kernel=kernel.kernel if kernel else None,
            initrd=kernel.initrd if kernel else None,
            cmdline=kernel_cmdline(
                spec.ipv4,
                prefixlen,
                gateway,
                spec.name,
                None if kernel.cloud_init else spec.ssh_public_key,  # cloud-init: the seed
                first_boot,
                kernel.cmdline,
            )
            if kernel
            else "",
            seed=seed if seed.exists() else None,
            uuid=uuid,
        )
        return domain_xml(cfg)

    def _write_seed(self, spec: InstanceSpec, image: Image) -> None:
        _, prefixlen, gateway = self._network(spec)
        hostname = spec.name
        # A new instance id every time: cloud-init then runs its first boot again (also for
        # an instance made from another one's snapshot).
        instance_uuid = f"aiiro-{spec.id}-{int(self.rt.clock.time())}"
        write_seed_iso(
            Path(spec.state["dir"]) / "seed.iso",
            {
                "meta-data": meta_data(instance_uuid, hostname),
                "user-data": user_data(image.login_user, spec.ssh_public_key, hostname),
                "network-config": network_config(spec.mac, spec.ipv4, prefixlen, gateway),
            },
        )

    def _observe_download(self, spec: InstanceSpec) -> Observation:
        workdir = Path(spec.state["dir"])
        status_file = workdir / "import.json"
        state = download.status(status_file)
        if state is None or download.is_stale(state):
            self._start_download(spec)
            return Observation("provisioning", progress=0, detail="download")
        if state["state"] == "failed":
            spec.state["phase"] = FAILED
            spec.state["error"] = state.get("error", "download failed")
            return Observation("provision_failed", detail=spec.state["error"])
        if state["state"] != "done":
            return Observation("provisioning", progress=int(state.get("progress", 0)))
        self._define(spec, first_boot=False)
        spec.state["phase"] = READY
        return Observation("shutoff", progress=100)

    def _start_download(self, spec: InstanceSpec) -> None:
        workdir = Path(spec.state["dir"])
        disk = self._disk(spec)
        limits = download.Limits(
            max_bytes=spec.disk_gb * GIB,
            total_s=self.settings.import_timeout_s,
            allowed=self.settings.import_allowed_networks,
        )
        download.start(
            spec.import_url or "",
            workdir / "import.img",
            workdir / "import.json",
            limits,
            lambda fetched: _import_disk(fetched, disk, spec.disk_gb),
        )

    def _filter_name(self, spec: InstanceSpec) -> str:
        name: str = spec.state.setdefault(
            "filter", filter_name(self.settings.libvirt_name_prefix, spec.id)
        )
        return name

    def _ensure_filter(self, spec: InstanceSpec) -> None:
        """The domain refers to its filter, so it must exist before the domain starts;
        a template applied earlier is kept."""
        rules = spec.state.get("firewall")
        self._define_filter(spec, None if rules is None else [FirewallRule(**r) for r in rules])

    def _define_filter(self, spec: InstanceSpec, rules: list[FirewallRule] | None) -> None:
        import libvirt

        conn = self._conn(spec)
        if conn.getType() == "TEST":
            return  # libvirt's test driver has no nwfilter; the rules stay in the state
        name = self._filter_name(spec)
        try:
            uuid = conn.nwfilterLookupByName(name).UUIDString()
        except libvirt.libvirtError:
            uuid = None
        conn.nwfilterDefineXML(filter_xml(name, uuid, rules))

    def _drop_filter(self, spec: InstanceSpec) -> None:
        import libvirt

        conn = self._conn(spec)
        if conn.getType() == "TEST":
            return
        with contextlib.suppress(libvirt.libvirtError):  # never made, or already gone
            conn.nwfilterLookupByName(self._filter_name(spec)).undefine()


def _is_running(dom: Any) -> bool:
    import libvirt

    state = dom.state()[0]
    return state not in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_CRASHED)


def _overlay(base: Path, disk: Path, size_gb: int) -> None:
    """A qcow2 disk of the plan's size whose unwritten blocks come from the base image."""
    disk.unlink(missing_ok=True)
    subprocess.run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            str(base),
            "-F",
            "qcow2",
            str(disk),
            f"{size_gb}G",
        ],
        check=True,
        capture_output=True,
    )
    disk.chmod(0o644)


def _disk_from_snapshot(source: dict[str, Any], disk: Path, size_gb: int) -> None:
    """A standalone copy of another instance's disk as it was at its snapshot (-U: that
    instance may be running; a snapshot's blocks never change)."""
    partial = disk.with_suffix(".partial")
    subprocess.run(
        [
            "qemu-img",
            "convert",
            "-U",
            "-f",
            "qcow2",
            "-O",
            "qcow2",
            "-l",
            f"snapshot.name={source['name']}",
            source["disk"],
            str(partial),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["qemu-img", "resize", "-q", str(partial), f"{size_gb}G"], check=False, capture_output=True
    )
    partial.chmod(0o644)
    partial.replace(disk)


def _import_disk(fetched: Path, disk: Path, size_gb: int) -> None:
    """The downloaded image as the instance's disk. Only qcow2 and raw are taken, and no
    image that refers to another file (a backing file, a qcow2 external data file): QEMU
    would read that file from this host (a VMDK descriptor names its extents the same way,
    hence no other formats). An image larger than the plan's disk is refused."""
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", str(fetched)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    fmt = info.get("format")
    if fmt not in ("qcow2", "raw"):
        raise download.DownloadError(f"the image is {fmt}, not qcow2 or raw")
    if info.get("backing-filename"):
        raise download.DownloadError("the image refers to a backing file")
    if info.get("format-specific", {}).get("data", {}).get("data-file"):
        raise download.DownloadError("the image refers to an external data file")
    if info.get("virtual-size", 0) > size_gb * GIB:
        raise download.DownloadError(f"the image is larger than the plan's disk ({size_gb} GB)")
    partial = disk.with_suffix(".partial")
    to_qcow2(fetched, partial, fmt)
    fetched.unlink(missing_ok=True)
    if info.get("virtual-size", 0) < size_gb * GIB:
        subprocess.run(
            ["qemu-img", "resize", "-q", str(partial), f"{size_gb}G"],
            check=False,
            capture_output=True,
        )
    partial.chmod(0o644)
    partial.replace(disk)


def _allocated_bytes(path: Path) -> int:
    try:
        return path.stat().st_blocks * 512
    except OSError:
        return 0
