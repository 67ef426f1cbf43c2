#!/usr/bin/env bash
# Build (Release) and run every benchmark of bench/ at 1 and 2 threads; print the table.
#
#   bench/run_all.sh [--reps 3] [--quick] [--no-brian2] [--no-100k] [--brian2-100k] [--no-plastic]
#                    [--dr-duration S] [--out FILE]
#
#   --reps N       runs per configuration; the fastest run_s is kept (the machine may be shared)
#   --quick        short durations (Brunel 200 ms, COBA 1 s): a smoke test, not for the README
#   --no-brian2    skip the Brian2 cpp_standalone runs
#   --no-100k      skip Brunel at 100 000 neurons
#   --brian2-100k  also run Brian2 at 100 000 neurons (slow: ~1.25e8 synapses through numpy)
#   --no-plastic   skip the plasticity benchmarks (bench_coba_stdp, the distal-reward network)
#   --dr-duration S  simulated seconds of the distal-reward network (default 3600: one hour;
#                  ~70 s per nmsim run and ~55 s per Brian2 run at 1 thread on the 2-vCPU machine)
# Results: every RESULT line goes to FILE (default build-bench/bench_results.txt); the table,
# speedups and ratios are printed by bench/report.py from that file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${NMSIM_BENCH_BUILD:-$root/build-bench}"  # build directory (override: NMSIM_BENCH_BUILD)
reps=3 quick=0 brian2=1 big=1 brian2_big=0 plastic=1 dr_s=3600 out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-brian2) brian2=0; shift ;;
    --no-100k) big=0; shift ;;
    --brian2-100k) brian2_big=1; shift ;;
    --no-plastic) plastic=0; shift ;;
    --dr-duration) dr_s="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
out="${out:-$build/bench_results.txt}"
brunel_ms=1000 coba_ms=10000 big_ms=1000
if [[ $quick == 1 ]]; then brunel_ms=200 coba_ms=1000 big_ms=100 dr_s=20; fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== build (Release) in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNMSIM_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_brunel bench_coba bench_scatter bench_distal_reward bench_coba_stdp >/dev/null
bin="$build/bin"
mkdir -p "$(dirname "$out")"
: > "$out"
{
  echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "# machine: nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\""
  echo "# git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >> "$out"

# Run a command $reps times; keep the RESULT line with the smallest run_s.
best_of() {
  local best="" best_t="" line t
  for ((r = 0; r < reps; r++)); do
    line="$("$@" | grep '^RESULT' | tail -1)"
    t="$(sed -n 's/.* run_s=\([0-9.e+-]*\).*/\1/p' <<<"$line")"
    if [[ -z "$best" ]] || awk -v a="$t" -v b="$best_t" 'BEGIN{exit !(a < b)}'; then best="$line" best_t="$t"; fi
  done
  echo "$best load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out"
}

for t in 1 2; do
  echo "== nmsim Brunel 12 500, $t thread(s)"
  best_of "$bin/bench_brunel" --neurons 12500 --duration "$brunel_ms" --threads "$t"
done
rate="$(grep 'bench=brunel sim=nmsim threads=1 neurons=12500' "$out" | sed -n 's/.* rate_hz=\([0-9.]*\).*/\1/p')"
for t in 1 2; do
  echo "== scatter kernel (Brunel shape, rate $rate Hz), $t thread(s)"
  best_of "$bin/bench_scatter" --neurons 12500 --rate "$rate" --duration "$brunel_ms" --threads "$t"
done
for t in 1 2; do
  echo "== nmsim COBA, $t thread(s)"
  best_of "$bin/bench_coba" --duration "$coba_ms" --threads "$t"
done
if [[ $big == 1 ]]; then
  for t in 1 2; do
    echo "== nmsim Brunel 100 000, $t thread(s)"
    reps_saved=$reps; reps=1
    best_of "$bin/bench_brunel" --neurons 100000 --duration "$big_ms" --threads "$t"
    reps=$reps_saved
  done
fi
if [[ $plastic == 1 ]]; then
  for t in 1 2; do
    # Static and plastic COBA alternate inside the program ($reps times each, best kept): the
    # overhead ratio is taken under the same load.
    echo "== nmsim COBA static vs STDP on E->E, $t thread(s)"
    "$bin/bench_coba_stdp" --duration "$coba_ms" --threads "$t" --reps "$reps" 2>/dev/null | grep '^RESULT' \
      | sed "s/\$/ load=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$out"
  done
  for t in 1 2; do
    echo "== nmsim Izhikevich 2007 distal-reward network, $dr_s s, $t thread(s)"
    best_of "$bin/bench_distal_reward" --duration "$dr_s" --threads "$t"
  done
fi
if [[ $brian2 == 1 ]]; then
  cd "$here"
  for t in 1 2; do
    echo "== Brian2 Brunel 12 500, $t thread(s)"
    /usr/bin/python3 brian2_brunel.py --neurons 12500 --duration "$brunel_ms" --threads "$t" --reps "$reps" 2>/dev/null \
      | grep '^RESULT' | sed "s/\$/ load=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$out"
    echo "== Brian2 COBA, $t thread(s)"
    /usr/bin/python3 brian2_coba.py --duration "$coba_ms" --threads "$t" --reps "$reps" 2>/dev/null \
      | grep '^RESULT' | sed "s/\$/ load=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$out"
    if [[ $plastic == 1 ]]; then
      echo "== Brian2 Izhikevich 2007 distal-reward network, $dr_s s, $t thread(s)"
      /usr/bin/python3 brian2_distal_reward.py --duration "$dr_s" --threads "$t" --reps "$reps" 2>/dev/null \
        | grep '^RESULT' | sed "s/\$/ load=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$out"
    fi
    if [[ $brian2_big == 1 ]]; then
      echo "== Brian2 Brunel 100 000, $t thread(s)"
      /usr/bin/python3 brian2_brunel.py --neurons 100000 --duration "$big_ms" --threads "$t" --reps 1 2>/dev/null \
        | grep '^RESULT' | sed "s/\$/ load=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$out"
    fi
  done
fi
echo
/usr/bin/python3 "$here/report.py" "$out"
