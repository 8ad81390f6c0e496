"""Fixtures for the libvirt driver on libvirt's `test:///default` (no daemon, no VMs)."""

from __future__ import annotations

import functools
import http.server
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from aiiro.compute.driver import InstanceSpec
from aiiro.config import Settings
from aiiro.images.store import Image, ImageStore
from aiiro.runtime import Runtime, build_runtime

TEST_URI = "test:///default"


def make_qcow2(path: Path, size: str = "64M") -> Path:
    if shutil.which("qemu-img") is None:
        pytest.skip("qemu-img is not installed (apt-get install qemu-utils)")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    return path


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    return tmp_path / "storage"


@pytest.fixture
def lv_settings(tmp_path: Path, storage: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        libvirt_uris=TEST_URI,
        libvirt_storage_dir=storage,
        libvirt_memory_scale=0.25,
        secret_key="test-secret",
        import_allow_networks="127.0.0.1/32",  # the tests' own web server (`web`)
    )


@pytest.fixture
def lv_rt(lv_settings: Settings) -> Runtime:
    return build_runtime(lv_settings)


@pytest.fixture
def tiny(storage: Path, tmp_path: Path) -> Image:
    """A stand-in for the built tiny image: real qcow2 base, placeholder kernel files."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "vmlinuz").write_bytes(b"kernel")
    (src / "initrd.img").write_bytes(b"initrd")
    make_qcow2(src / "disk.qcow2")
    store = ImageStore(storage / "images")
    image = store.add(
        "tiny",
        "kernel",
        {
            "vmlinuz": src / "vmlinuz",
            "initrd.img": src / "initrd.img",
            "disk.qcow2": src / "disk.qcow2",
        },
    )
    store.map_os("*", "tiny")
    return image


@pytest.fixture
def driver(lv_rt: Runtime) -> Iterator[Any]:
    libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
    from aiiro.compute.libvirt import LibvirtDriver

    drv = LibvirtDriver(lv_rt)
    yield drv
    # test:///default is shared by the whole process: leave no domain behind.
    conn = drv.hosts.conn(TEST_URI)
    for dom in conn.listAllDomains():
        if dom.name().startswith("aiiro-"):
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    drv.hosts.close()


_next_id = iter(range(5000, 100000))


@pytest.fixture
def make_spec() -> Any:
    def make(**kw: Any) -> InstanceSpec:
        ident = next(_next_id)
        defaults: dict[str, Any] = dict(
            id=ident,
            name=f"web{ident}",
            os_id=22,
            os_name="Debian12",
            os_family="linux",
            cpus=1,
            memory_mb=1024,
            disk_gb=20,
            region_id=1,
            mac="00:13:5D:13:69:8A",
            ipv4="198.18.0.10",
            ssh_public_key="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 user@host",
        )
        defaults.update(kw)
        return InstanceSpec(**defaults)

    return make


class Site(http.server.SimpleHTTPRequestHandler):
    """An import URL's web server: the files of its directory, and a few misbehaviours.

    /redirect?to=URL     302 to URL
    /endless             200 without a length, data for ever
    /huge                200 declaring 21 GiB, then a few bytes
    /drip                200 declaring 1000 bytes, then one byte each 0.1 s
    """

    hosts: list[str]  # the Host header of each request (set per server)

    def do_GET(self) -> None:
        self.hosts.append(self.headers.get("Host", ""))
        url = urlsplit(self.path)
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/endless":
            self.send_response(200)
            self.end_headers()
            self._send_for_ever(b"\0" * 65536, 0.0)
        elif url.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(21 * 1024**3))
            self.end_headers()
            self.wfile.write(b"QFI\xfb")
        elif url.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self._send_for_ever(b"x", 0.1)
        else:
            super().do_GET()

    def _send_for_ever(self, block: bytes, pause: float) -> None:
        try:
            for _ in range(100_000):  # until the client goes (a bound, for safety)
                self.wfile.write(block)
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


class Web:
    """A web server on a loopback address, serving `root` (over TLS when given a context)."""

    def __init__(
        self, root: Path, address: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.hosts: list[str] = []
        handler = type("Handler", (Site,), {"hosts": self.hosts})
        self.server = http.server.ThreadingHTTPServer(
            (address, 0), functools.partial(handler, directory=str(root))
        )
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"{'https' if tls else 'http'}://{address}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    """The import URL's web server, on 127.0.0.1 (which the tests' settings allow)."""
    site = Web(tmp_path / "www")
    yield site
    site.close()


@pytest.fixture
def other_web(tmp_path: Path) -> Iterator[Web]:
    """Another web server, on 127.0.0.2: loopback too, but not allowed by the settings."""
    site = Web(tmp_path / "other", "127.0.0.2")
    yield site
    site.close()


def certificates(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(a server context with a certificate for `name`, a client context that trusts
    only the made-up authority that signed it)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def cert(
        subject: str, key: Any, issuer: str, signer: Any, ca: bool, san: str | None
    ) -> x509.Certificate:
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            ).add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(san or subject)]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("aiiro test authority", ca_key, "aiiro test authority", ca_key, True, None)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = cert(name, key, "aiiro test authority", ca_key, False, name)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(
        leaf.public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "leaf.pem")
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    return server, client
