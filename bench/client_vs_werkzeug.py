#!/usr/bin/env python3
"""Werkzeug's side of benches/wrappers.rs, for the zeug/Werkzeug ratio.

Runs the same two workloads through Werkzeug (the installed version):

- parse_request: wrap an environ with 20 query arguments, 10 cookies and a 20-field
  urlencoded form, and parse all three (``args``, ``cookies``, ``form``).
- client_roundtrip: a hello app called through ``werkzeug.test.Client``.

Usage:
    python3 bench/client_vs_werkzeug.py            # Werkzeug timings only
    python3 bench/client_vs_werkzeug.py --zeug     # also run `cargo bench` and print ratios

The zeug side is criterion's mean for `wrappers/parse_request` and
`wrappers/client_roundtrip` (read from target/criterion/*/new/estimates.json).
"""
import argparse
import io
import json
import os
import subprocess
import sys
import timeit
from importlib import metadata
from urllib.parse import urlencode

from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request, Response

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_environ_factory():
    query = "&".join(f"arg{i}=value%20{i}" for i in range(20))
    cookies = "; ".join(f"cookie{i}=v{i}%3Bx" for i in range(10))
    body = urlencode([(f"field{i}", f"some value {i} & more") for i in range(20)]).encode()
    template = EnvironBuilder(
        path="/submit",
        method="POST",
        query_string=query,
        headers={"Cookie": cookies},
        content_type="application/x-www-form-urlencoded",
        data=body,
    ).get_environ()

    def fresh():
        env = dict(template)
        env["wsgi.input"] = io.BytesIO(body)
        return env

    return fresh


def bench_parse_request(number):
    fresh = make_environ_factory()
    envs = [fresh() for _ in range(number)]
    it = iter(envs)

    def run():
        req = Request(next(it))
        assert len(req.args) == 20
        assert len(req.cookies) == 10
        assert len(req.form) == 20

    # Environ set-up is excluded, as criterion's iter_batched excludes it.
    return timeit.timeit(run, number=number) / number


@Request.application
def hello(request):
    name = request.args.get("name", "World")
    return Response(f"Hello {name}!")


def bench_client_roundtrip(number):
    client = Client(hello)

    def run():
        res = client.get("/?name=zeug")
        assert res.status_code == 200
        res.get_data()

    return timeit.timeit(run, number=number) / number


def best_of(fn, number, repeat=5):
    return min(fn(number) for _ in range(repeat))


def zeug_means():
    subprocess.run(
        [
            "cargo", "bench", "--bench", "wrappers", "--",
            "--warm-up-time", "1", "--measurement-time", "3",
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out = {}
    for name in ("parse_request", "client_roundtrip"):
        path = os.path.join(ROOT, "target", "criterion", f"wrappers_{name}", "new", "estimates.json")
        with open(path) as f:
            out[name] = json.load(f)["mean"]["point_estimate"] / 1e9
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zeug", action="store_true", help="also run cargo bench and print ratios")
    parser.add_argument("--number", type=int, default=5000)
    args = parser.parse_args()

    print(f"werkzeug {metadata.version('werkzeug')}, python {sys.version.split()[0]}")
    results = {
        "parse_request": best_of(bench_parse_request, args.number),
        "client_roundtrip": best_of(bench_client_roundtrip, args.number),
    }
    zeug = zeug_means() if args.zeug else {}
    for name, secs in results.items():
        line = f"{name:18} werkzeug {secs * 1e6:9.2f} µs"
        if name in zeug:
            z = zeug[name]
            line += f"   zeug {z * 1e6:7.3f} µs   ratio {secs / z:6.1f}x"
        print(line)


if __name__ == "__main__":
    main()
