#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz) with clang + ASan + UBSan into build-fuzz/, replay the
# regression inputs (every input that once crashed), then fuzz the config loader and the CLI
# parser for FUZZ_SECONDS in total (default 60: two thirds config, one third CLI).
#   scripts/fuzz.sh [seconds]          (make fuzz)
# New crashers are written to build-fuzz/artifacts/ and make the script fail; keep each one in
# tests/fuzz/regressions/<target>/ once fixed (tests/unit/fuzz_regressions.cpp replays them too).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-60}}
build=${FUZZ_BUILD:-$root/build-fuzz}
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "nmsim: fuzz stage SKIPPED: clang++ with libFuzzer not found (apt-get install clang libomp-dev;" \
       "or NMSIM_WITH_FUZZ=1 scripts/install_deps.sh)" >&2
  exit 0
fi
# -Wno-unknown-warning-option: GCC-only warning pragmas in the sources must not stop clang (-Werror).
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Wno-unknown-warning-option"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DNMSIM_FUZZ=ON -DNMSIM_BUILD_TESTS=OFF -DNMSIM_BUILD_EXAMPLES=OFF -DNMSIM_BUILD_BENCH=OFF > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target fuzz_config fuzz_cli
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts"
status=0
for target in config cli; do
  exe="$build/bin/fuzz_$target"
  regressions=("$root"/tests/fuzz/regressions/$target/*)
  if [ -e "${regressions[0]}" ]; then
    echo "== fuzz_$target: replaying ${#regressions[@]} regression inputs"
    "$exe" -runs=1 "${regressions[@]}" > "$build/replay_$target.log" 2>&1 || { cat "$build/replay_$target.log"; status=1; }
  fi
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  seeds=("$root/tests/fuzz/corpus/$target")
  if [ "$target" = config ]; then  # the example configs seed the config corpus too
    mkdir -p "$build/seeds/examples" && cp "$root"/examples/*/*.toml "$build/seeds/examples/"
    seeds+=("$build/seeds/examples")
  fi
  [ "$target" = config ] && t=$((seconds * 2 / 3)) || t=$((seconds - seconds * 2 / 3))
  echo "== fuzz_$target: ${t} s"
  "$exe" -max_total_time="$t" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -dict="$root/tests/fuzz/config.dict" -artifact_prefix="$build/artifacts/${target}_" \
    "$corpus" "${seeds[@]}" > "$build/fuzz_$target.log" 2>&1 || { tail -60 "$build/fuzz_$target.log"; status=1; }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$build/fuzz_$target.log" | tr '\n' ' ' || true
  echo
done
[ $status = 0 ] && echo "nmsim: fuzzing found nothing" || echo "nmsim: fuzzing FAILED (inputs in $build/artifacts)" >&2
exit $status
