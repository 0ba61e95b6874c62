#!/usr/bin/env python3
"""Summarises netcore benchmark results as Markdown tables.

Usage: tools/bench_report.py FILE...   (Google Benchmark JSON files and/or results.jsonl)

Google Benchmark files: the median of each benchmark, with decode+verify and CRC32C/XXH3 set
against the memcpy baselines of the same run. results.jsonl: one row per P-figure and baseline.
"""

import json
import sys


def gib_per_s(bench):
    return bench.get("bytes_per_second", 0.0) / (1 << 30)


def report_google_benchmark(path):
    with open(path) as f:
        data = json.load(f)
    medians = {}
    for b in data.get("benchmarks", []):
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b["run_name"] if "run_name" in b else b["name"]
        medians[name] = b
    if not medians:
        return
    print(f"\n### {path}\n")
    print("| benchmark | GiB/s | vs memcpy of the same bytes |")
    print("|---|---:|---:|")
    for name, b in sorted(medians.items()):
        size = name.rsplit("/", 1)[-1]
        base = medians.get(f"BM_memcpy_frames/{size}") if "decode" in name else None
        ratio = f"{gib_per_s(b) / gib_per_s(base):.2f}x" if base and gib_per_s(base) else ""
        print(f"| {name} | {gib_per_s(b):.1f} | {ratio} |")


def report_runtime(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    if not rows:
        return
    print(f"\n### {path}\n")
    print("| | variant | value | baseline | ratio | target | met |")
    print("|---|---|---:|---|---:|---|:-:|")
    for r in rows:
        extra = ", ".join(
            f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in r.items()
            if k in ("p50_us", "p99_us", "baseline_p50_us"))
        value = f"{r['value']:.4g} {r['unit']}" + (f" ({extra})" if extra else "")
        # A baseline that was not built (the optional gRPC one) has no figure to show.
        absent = "baseline_absent" in r
        baseline = "absent" if absent else f"{r['baseline_value']:.4g}"
        ratio = "" if absent else f"{r['ratio']:.3f}"
        print(f"| {r['name']} | {r.get('variant', '')} | {value} | "
              f"{r['baseline']} {baseline} | {ratio} | {r['target']} | "
              f"{'yes' if r['met'] else 'no'} |")


def main(paths):
    for path in paths:
        try:
            if path.endswith(".jsonl"):
                report_runtime(path)
            else:
                report_google_benchmark(path)
        except (OSError, ValueError, KeyError) as e:
            print(f"{path}: cannot summarise ({e})", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
