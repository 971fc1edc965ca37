#!/usr/bin/env bash
# Runs the virtqueue libFuzzer harness for SECONDS (default 60) in its own
# clang build dir (build-fuzz), keeping the corpus in build-fuzz/corpus.
# Exits 1 (not libFuzzer's default 77, which means "skipped" to meson) when
# the fuzzer finds a crash (the reproducer lands in
# build-fuzz/artifacts/) or the harness does not build.
set -euo pipefail
secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
cd "$root"

if ! command -v clang >/dev/null; then
	echo "fuzz.sh: clang is missing (apt-get install clang)" >&2
	exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true \
		-Dswitch=disabled -Dtest_guests=false >/dev/null
fi
ninja -C "$build" tests/fuzz/fuzz_virtqueue >/dev/null
mkdir -p "$build/corpus/virtqueue" "$build/artifacts"
python3 tests/fuzz/virtqueue_seeds.py "$build/corpus/virtqueue"
"$build/tests/fuzz/fuzz_virtqueue" "$build/corpus/virtqueue" \
	-max_total_time="$secs" -max_len=70000 -timeout=10 -error_exitcode=1 \
	-artifact_prefix="$build/artifacts/" -print_final_stats=1 2>&1 |
	tail -n 20
exit "${PIPESTATUS[0]}"
