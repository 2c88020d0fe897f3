#!/usr/bin/env bash
# Installs NVIDIA's run-time compiler (NVRTC) from Debian's non-free component so that the
# kernels in this folder can be compile-checked on a machine without a GPU. Idempotent and quiet:
# does nothing when libnvrtc.so.11.2 (or a newer soname) already loads.
set -euo pipefail
if ldconfig -p 2>/dev/null | grep -qE 'libnvrtc\.so\.(11\.[2-9]|1[2-9])'; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-nvrtc.sh: libnvrtc is missing and installing it needs root (apt-get install libnvrtc11.2 from Debian non-free)" >&2
  exit 1
fi
src=/etc/apt/sources.list.d/debian-nonfree.sources
if [ ! -f "$src" ]; then
  cat > "$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq libnvrtc11.2 >/dev/null
ldconfig
ldconfig -p | grep -qE 'libnvrtc\.so\.11\.2' || { echo "install-nvrtc.sh: libnvrtc11.2 installed but libnvrtc.so.11.2 is not in the loader cache" >&2; exit 1; }
