#!/usr/bin/env python3
"""Werkzeug's router on zeug's routing workload, with the ratios to zeug's benchmark.

Runs `benches/data/routing/{rules,paths}.txt` through `werkzeug.routing.Map` (matching every
request, then building every matched URL back, as `benches/routing.rs` does), checks that
Werkzeug finds the endpoint each line expects, and prints the time per request. When
criterion's results exist (`cargo bench --bench routing` writes
`target/criterion/routing/<id>/new/estimates.json`), it prints zeug's figures beside them
and the ratios.

Usage: python3 bench/routing_vs_werkzeug.py [--repeat N]
Needs: pip install werkzeug
"""

import argparse
import json
import os
import statistics
import sys
import time

try:
    import werkzeug
    from werkzeug.routing import Map, Rule
except ImportError:  # pragma: no cover - a message is the useful answer here
    sys.exit("werkzeug is not installed: pip install werkzeug")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "benches", "data", "routing")
CRITERION = os.path.join(ROOT, "target", "criterion", "routing")


def load():
    rules = []
    with open(os.path.join(DATA, "rules.txt")) as f:
        for line in f:
            if line.strip():
                path, endpoint, methods = line.split()
                rules.append((path, endpoint, methods.split(",")))
    requests = []
    with open(os.path.join(DATA, "paths.txt")) as f:
        for line in f:
            if line.strip():
                method, path, endpoint = line.split()
                requests.append((method, path, endpoint))
    return rules, requests


def best_of(repeat, fn):
    """Seconds per call of `fn` (one pass over the workload): the median of `repeat` runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def criterion_ns(bench_id):
    """zeug's mean time for one pass (ns), from criterion's estimates, or None."""
    path = os.path.join(CRITERION, bench_id, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["mean"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def version():
    try:
        from importlib.metadata import version as v

        return v("werkzeug")
    except Exception:  # pragma: no cover
        return getattr(werkzeug, "__version__", "?")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per measurement (median)")
    args = parser.parse_args()

    rules, requests = load()
    url_map = Map([Rule(path, endpoint=endpoint, methods=methods) for path, endpoint, methods in rules])
    adapter = url_map.bind("localhost", "/")

    matched = []
    for method, path, want in requests:
        endpoint, values = adapter.match(path, method)
        if endpoint != want:
            sys.exit(f"werkzeug matched {path} to {endpoint}, the workload says {want}")
        matched.append((endpoint, values, method))
        built = adapter.build(endpoint, values, method=method)
        if built != path:
            sys.exit(f"werkzeug built {built} for {path}")

    def match_all():
        for method, path, _ in requests:
            adapter.match(path, method)

    def build_all():
        for endpoint, values, method in matched:
            adapter.build(endpoint, values, method=method)

    n = len(requests)
    wz_match = best_of(args.repeat, match_all) / n * 1e9
    wz_build = best_of(args.repeat, build_all) / n * 1e9

    print(f"workload: {len(rules)} rules, {n} requests; Werkzeug {version()}, Python {sys.version.split()[0]}")
    print(f"{'':12} {'Werkzeug':>12} {'zeug':>12} {'ratio':>10}")
    for label, bench_id, wz in (("match", "zeug_match", wz_match), ("build", "zeug_build", wz_build)):
        zeug = criterion_ns(bench_id)
        if zeug is None:
            print(f"{label:12} {wz:>9.0f} ns {'(run cargo bench)':>12}")
        else:
            per = zeug / n
            print(f"{label:12} {wz:>9.0f} ns {per:>9.1f} ns {wz / per:>9.0f}x")
    floor = criterion_ns("matchit_at")
    zeug_match = criterion_ns("zeug_match")
    if floor is not None and zeug_match is not None:
        print(f"zeug_match / matchit_at: {zeug_match / floor:.2f}x (matchit_at {floor / n:.1f} ns a path)")


if __name__ == "__main__":
    main()
