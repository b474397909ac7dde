#!/usr/bin/env python3
"""Werkzeug's router on zeug's routing workload, with the ratios to zeug's benchmark.

Runs `benches/data/routing/{rules,paths}.txt` through `werkzeug.routing.Map` (matching every
request, then building every matched URL back, as `benches/routing.rs` does), checks that
Werkzeug finds the endpoint each line expects and builds each path back, and prints the
time per request. When criterion's results exist (`cargo bench --bench routing` writes
`target/criterion/routing/<id>/new/sample.json`), it prints zeug's figures beside them and
the ratios, best against best and median against median. Both sides match on one adapter
bound before the loop; `zeug_bind_match` also binds per request on zeug's side. Building is
compared twice:
`zeug_build` (`build_with`, a new `String` per URL, like Werkzeug's new `str`) and
`zeug_build_into` (`build_into`, appending to a buffer the caller keeps).

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


def timings(repeat, fn):
    """Seconds for one pass of `fn` over the workload: (best, median) of `repeat` runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return min(runs), statistics.median(runs)


def criterion_ns(bench_id):
    """zeug's time for one pass (ns) from criterion's samples: (best, median), or None.

    The best sample is the figure least disturbed by other processes on a shared machine;
    the median is criterion's typical one. Both are printed, each against its Werkzeug twin.
    """
    path = os.path.join(CRITERION, bench_id, "new", "sample.json")
    try:
        with open(path) as f:
            sample = json.load(f)
        per_iter = [t / i for t, i in zip(sample["times"], sample["iters"])]
        return min(per_iter), statistics.median(per_iter)
    except (OSError, KeyError, ValueError, ZeroDivisionError):
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
    wz = {
        "match": [t / n * 1e9 for t in timings(args.repeat, match_all)],
        "build": [t / n * 1e9 for t in timings(args.repeat, build_all)],
    }

    print(f"workload: {len(rules)} rules, {n} requests; Werkzeug {version()}, Python {sys.version.split()[0]}")
    print("per request, best run / median run:")
    print(f"{'':10} {'Werkzeug':>20} {'zeug':>20} {'ratio':>14}")
    # zeug builds a URL two ways: `build_with`, which returns a new String (as Werkzeug
    # returns a new str), and `build_into`, which appends to a buffer the caller keeps.
    # `bind+match` binds a new adapter per request on zeug's side only (Werkzeug's figure
    # is still its match alone): the stricter comparison.
    rows = (
        ("match", "match", "zeug_match"),
        ("bind+match", "match", "zeug_bind_match"),
        ("build", "build", "zeug_build"),
        ("build_into", "build", "zeug_build_into"),
    )
    for label, wz_label, bench_id in rows:
        w_best, w_med = wz[wz_label]
        z = criterion_ns(bench_id)
        if z is None:
            print(f"{label:10} {w_best:>8.0f} / {w_med:>6.0f} ns   (run cargo bench --bench routing)")
            continue
        z_best, z_med = z[0] / n, z[1] / n
        print(
            f"{label:10} {w_best:>8.0f} / {w_med:>6.0f} ns {z_best:>8.1f} / {z_med:>6.1f} ns"
            f" {w_best / z_best:>6.0f}x / {w_med / z_med:.0f}x"
        )
    floor = criterion_ns("matchit_at")
    zeug_match = criterion_ns("zeug_match")
    if floor is not None and zeug_match is not None:
        print(
            f"zeug_match / matchit_at: {zeug_match[0] / floor[0]:.2f}x best,"
            f" {zeug_match[1] / floor[1]:.2f}x median"
            f" (matchit_at {floor[0] / n:.1f} / {floor[1] / n:.1f} ns a path)"
        )


if __name__ == "__main__":
    main()
