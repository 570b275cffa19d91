#!/bin/sh
# The threading tests under ThreadSanitizer, then under AddressSanitizer + LeakSanitizer:
# run once per change of threading code (the job queue, patching and feature jobs, the
# training worker with its ViT and SAE runs, model load/unload), not in CI -- each sanitizer
# is a full build of the libraries in its own directory (build-tsan, build-asan; 60-80 min
# each on 2 shared cores).
#
# usage: scripts/sanitizers.sh [tsan|asan]...     (default: both)
#   JOBS=N       parallel compile jobs (default 2)
#   TESTS=REGEX  the ctest tests to run (default: the threading ones below)
#
# LibTorch, OpenBLAS, OpenMP and Qt come from Debian and are not instrumented, so
# ThreadSanitizer cannot see their synchronisation; scripts/tsan.supp names the reports
# that are theirs alone (a race whose every frame is inside them), and nothing of ours.
# Reports land in build-<name>/sanitizer-logs/; the script exits non-zero when any test
# fails or any report was written.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}
tests=${TESTS:-'^(test_job_queue|test_explorer|test_patching_presenter|test_patching_board|test_training_view|test_sae_training_view|test_features_view|test_interp_patching)$'}
targets="prisma test_job_queue test_explorer test_patching_presenter test_patching_board test_training_view test_sae_training_view test_features_view test_interp_patching"

run_one() {
  name=$1
  case $name in
    tsan) flags="-fsanitize=thread -fno-omit-frame-pointer -g"
          opt="-O2 -g -DNDEBUG"
          export TSAN_OPTIONS="suppressions=$root/scripts/tsan.supp second_deadlock_stack=1 halt_on_error=0 log_path=$root/build-$name/sanitizer-logs/tsan" ;;
    asan) flags="-fsanitize=address -fno-omit-frame-pointer -g1"
          # -O1 and line tables only: the usual ASan build, and about a third less compile
          # time than -O2 -g on LibTorch's headers.
          opt="-O1 -g1 -DNDEBUG"
          export ASAN_OPTIONS="detect_leaks=1 abort_on_error=0 log_path=$root/build-$name/sanitizer-logs/asan"
          export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp" ;;
    *) echo "unknown sanitizer '$name' (tsan or asan)" >&2; exit 2 ;;
  esac
  dir=$root/build-$name
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$opt" \
        -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags"
  # (set -e does not act inside a function called from `||`: a failed build must stop here,
  # not go on to report "no reports" from tests that never ran.)
  # shellcheck disable=SC2086 # targets is a list
  nice -n 19 cmake --build "$dir" --parallel "$jobs" --target $targets || { echo "== $name: the build failed"; return 1; }
  rm -rf "$dir/sanitizer-logs"
  mkdir -p "$dir/sanitizer-logs"
  status=0
  (cd "$dir" && QT_QPA_PLATFORM=offscreen PRISMA_NO_BLAS_REEXEC=1 ctest -R "$tests" --output-on-failure) || status=1
  if [ -n "$(ls -A "$dir/sanitizer-logs")" ]; then
    echo "== $name reports (build-$name/sanitizer-logs):"
    for f in "$dir"/sanitizer-logs/*; do grep -E "^(WARNING|ERROR|SUMMARY)" "$f" || true; done
    status=1
  else
    echo "== $name: no reports"
  fi
  return $status
}

[ $# -gt 0 ] || set -- tsan asan
failed=0
for s in "$@"; do run_one "$s" || failed=1; done
exit $failed
