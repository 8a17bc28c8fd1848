#!/usr/bin/env bash
# Build the compiled kernels under AddressSanitizer and run the kernel, network, training
# and hostile-input tests against that build: any read or write outside a buffer aborts
# the run with ASan's report.
#
#   tools/asan.sh                    # uses python3 (needs numpy, Cython, setuptools,
#   PYTHON=.venv/bin/python tools/asan.sh    # pytest and hypothesis installed)
#
# The build happens in a scratch copy of the tracked files, so the checkout's own kernels
# are left alone. Leak checking is off: CPython keeps objects alive until exit by design.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
CC=${CC:-gcc}

libasan=$("$CC" -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "asan.sh: $CC has no libasan.so (install the compiler's sanitizer runtime)" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/crash_core_asan.XXXXXX")
trap 'rm -rf "$work"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work"

echo "== building the kernels with -fsanitize=address in $work"
start=$(date +%s)
(
    cd "$work"
    CC="$CC" CFLAGS="-fsanitize=address -fno-omit-frame-pointer" LDFLAGS="-fsanitize=address" \
        "$PYTHON" setup.py -q build_ext --inplace > build.log 2>&1 || { cat build.log; exit 1; }
)
echo "built in $(( $(date +%s) - start )) s"
for so in "$work"/crash_core/_kernels/*.so; do
    grep -q __asan_report "$so" || { echo "asan.sh: $so is not instrumented" >&2; exit 1; }
done

tests=(tests/test_kernels.py tests/test_network.py tests/test_training.py tests/test_hostile.py)
[ -e "$work/tests/test_microkernels.py" ] && tests+=(tests/test_microkernels.py)
# products split over the helper threads, the forward epilogue, the products skipping zeros,
# the pair step's halves (their arrays carved from one block)
for extra in tests/test_split.py tests/test_epilogue.py tests/test_sparse.py \
        tests/test_pair_step.py; do
    [ -e "$work/$extra" ] && tests+=("$extra")
done
run() {
    (
        cd "$work"
        LD_PRELOAD="$libasan" ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
            PYTHONPATH="$work" "$PYTHON" -m pytest -q -p no:cacheprovider "$@"
    )
}
echo "== tests under AddressSanitizer (the build this CPU selects)"
start=$(date +%s)
run "${tests[@]}"
echo "== network and hostile tests under AddressSanitizer (CRASH_CORE_KERNELS=portable)"
CRASH_CORE_KERNELS=portable run tests/test_network.py tests/test_hostile.py
echo "AddressSanitizer: no report; tests took $(( $(date +%s) - start )) s"
