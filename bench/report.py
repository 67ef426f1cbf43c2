#!/usr/bin/python3
"""Table of bench results: reads the RESULT lines written by bench/run_all.sh.

  /usr/bin/python3 bench/report.py build-bench/bench_results.txt
Prints a Markdown table, the 2-vs-1-thread speedups, nmsim/Brian2 run-time ratios, and the
targets of the benchmark issue (met / missed; nothing is adjusted).
"""
import sys


def parse(path):
    rows, header = [], []
    for line in open(path):
        if line.startswith('#'):
            header.append(line.strip())
        if not line.startswith('RESULT'):
            continue
        row = dict(kv.split('=', 1) for kv in line.split()[1:] if '=' in kv)
        rows.append(row)
    return header, rows


def num(row, key, default=float('nan')):
    try:
        return float(row[key])
    except (KeyError, ValueError):
        return default


def name(row):
    b = row['bench']
    if b == 'brunel':
        return f"Brunel {int(num(row, 'neurons')):,}".replace(',', ' ')
    if b == 'coba':
        return 'COBA 4 000'
    return f"scatter kernel {int(num(row, 'neurons')):,}".replace(',', ' ')


def main():
    header, rows = parse(sys.argv[1] if len(sys.argv) > 1 else 'build-bench/bench_results.txt')
    for h in header:
        print(h)
    print()
    print('| network | simulator | threads | build s | run s (cpu s) | spikes | rate Hz | events/s | RTF | peak MB '
          '| deliver % of kernel | load |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        build = r.get('build_s', '-')
        if r.get('sim') == 'brian2':
            build = f"{r['build_s']} ({r.get('compile_s', '?')} compile)"
        print(f"| {name(r)} ({num(r, 'duration_ms'):.0f} ms) | {r['sim']} | {r['threads']} | {build} | {r['run_s']}{' (' + r['run_cpu_s'] + ')' if 'run_cpu_s' in r else ''} "
              f"| {r.get('spikes', '-')} | {r.get('rate_hz', '-')} | {num(r, 'events_per_s'):.3g} "
              f"| {r.get('rtf', '-')} | {r.get('peak_mb', '-')} | {r.get('deliver_pct_of_kernel', '-')} "
              f"| {r.get('load', '-')} |")
    print()
    key = lambda r: (r['bench'], r['sim'], r.get('neurons'))
    by = {}
    for r in rows:
        by.setdefault(key(r), {})[int(r['threads'])] = r
    print('Speedup 2 vs 1 thread (run s):')
    speedups = {}
    for k, d in by.items():
        if 1 in d and 2 in d:
            s = num(d[1], 'run_s') / num(d[2], 'run_s')
            speedups[k] = s
            print(f"  {name(d[1])} {k[1]}: {s:.2f}x")
    print('nmsim vs Brian2 (Brian2 run s / nmsim run s, same threads):')
    print('  (Brian2 measures its serial run with std::clock(), i.e. CPU time, and its OpenMP run with')
    print('   omp_get_wtime(), wall time; at 1 thread the fair nmsim figure is therefore run_cpu_s, which')
    print('   equals run_s on a quiet machine. Both ratios are shown.)')
    ratios = {}
    for k, d in by.items():
        if k[1] != 'nmsim':
            continue
        other = by.get((k[0], 'brian2', k[2]), {})
        for t, r in sorted(d.items()):
            if t in other:
                wall = num(other[t], 'run_s') / num(r, 'run_s')
                if t == 1:
                    cpu = num(other[t], 'run_s') / num(r, 'run_cpu_s', num(r, 'run_s'))
                    ratios[(k, t)] = cpu
                    print(f"  {name(r)} {t} thread: {cpu:.2f}x (CPU vs CPU); {wall:.2f}x (Brian2 CPU vs nmsim wall)")
                else:
                    ratios[(k, t)] = wall
                    print(f"  {name(r)} {t} threads: {wall:.2f}x (wall vs wall)")
    print()
    print('Targets (issue): met / missed')
    for (k, t), v in sorted(ratios.items()):
        print(f"  nmsim >= 2x faster than Brian2, {k[0]} {k[2]} {t} thr: {v:.2f}x -> {'met' if v >= 2 else 'MISSED'}")
    for k, s in speedups.items():
        if k[1] == 'nmsim':
            print(f"  2 threads >= 1.7x faster, {k[0]} {k[2]}: {s:.2f}x -> {'met' if s >= 1.7 else 'MISSED'}")
    for r in rows:
        if r['sim'] == 'nmsim' and 'deliver_pct_of_kernel' in r:
            p = num(r, 'deliver_pct_of_kernel')
            print(f"  delivery >= 30% of kernel, {r['bench']} {r['neurons']} {r['threads']} thr: {p:.0f}% "
                  f"-> {'met' if p >= 30 else 'MISSED'}")


if __name__ == '__main__':
    main()
