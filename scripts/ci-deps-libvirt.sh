#!/usr/bin/env bash
# Real VMs for the libvirt driver's tests (tests/compute/libvirt, tests/e2e_libvirt) on a
# fresh Debian machine: the Debian packages, libvirt-python in the venv, the directories
# libvirt writes to, libvirtd and virtlogd started (systemd or not), the region's network,
# a throwaway machine started on it (setup fails here if none can start) and the tiny
# guest image. Idempotent: a second run finds everything in place and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# libvirt-python is built from source by pip: it needs libvirt's headers and pkg-config.
need=()
for pkg in libvirt-dev pkg-config; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
VENV=${VENV:-.venv}
"$VENV/bin/python" -c "import libvirt" 2>/dev/null || "$VENV/bin/pip" install -q -e '.[dev,libvirt]'

# QEMU, libvirt, the daemons, storage, the region networks and the tiny image.
"$VENV/bin/aiiro" host setup
