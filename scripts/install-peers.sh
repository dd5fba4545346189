#!/usr/bin/env bash
# Installs the benchmark's Python peer: Debian's PyTorch (CPU) with the pthread OpenBLAS, without
# which torch falls back to the slow reference BLAS. Only `npm run bench:train` uses it; the tests
# never need it. Safe to run again: it does nothing when torch already imports.
set -euo pipefail

# Both must be there: torch without the OpenBLAS package imports fine but trains several times slower.
if /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 && dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  echo "install-peers: torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') is already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  # apt-get needs root; use sudo when this script is run by a regular user.
  SUDO=sudo
else
  SUDO=
fi

$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch libopenblas0-pthread

/usr/bin/python3 -c 'import torch; print("install-peers: torch", torch.__version__, "installed")'
