#!/usr/bin/env python3
"""Werkzeug's side of benches/wrappers.rs, for the zeug/Werkzeug ratio.

Runs the same two workloads through Werkzeug (the installed version):

- parse_request: wrap an environ with 20 query arguments, 10 cookies and a 20-field
  urlencoded form, and parse all three (``args``, ``cookies``, ``form``).
- client_roundtrip: a hello app called through ``werkzeug.test.Client``.

With ``--zeug`` the parse_request line is printed twice: against zeug's
``wrappers/parse_request`` (zeug's request dropped outside the timing) and against
``wrappers/parse_request_freed`` (what it parsed dropped inside it, as Python frees its
``Request`` when ``run()`` returns inside ``timeit``; the environ, which Python keeps in
``envs``, is dropped outside it on both sides).

Usage:
    python3 bench/client_vs_werkzeug.py            # Werkzeug timings only
    python3 bench/client_vs_werkzeug.py --zeug     # also run `cargo bench` and print ratios

The zeug side is read from criterion's output for `wrappers/parse_request` and
`wrappers/client_roundtrip` (target/criterion/*/new/). On a shared, loaded machine wall-clock
means swing with the load, so the script compares best samples: the fastest batch of
Werkzeug (many small timeit batches) against criterion's fastest sample (time / iterations),
and prints the means beside them.
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


def best_of(fn, number, repeat):
    """(best batch, mean over all batches) per call, in seconds."""
    runs = [fn(number) for _ in range(repeat)]
    return min(runs), sum(runs) / len(runs)


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
    for name in ("parse_request", "parse_request_freed", "client_roundtrip"):
        base = os.path.join(ROOT, "target", "criterion", f"wrappers_{name}", "new")
        with open(os.path.join(base, "estimates.json")) as f:
            mean = json.load(f)["mean"]["point_estimate"] / 1e9
        with open(os.path.join(base, "sample.json")) as f:
            sample = json.load(f)
        best = min(t / i for t, i in zip(sample["times"], sample["iters"])) / 1e9
        out[name] = (best, mean)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zeug", action="store_true", help="also run cargo bench and print ratios")
    parser.add_argument("--number", type=int, default=200, help="calls per timeit batch")
    parser.add_argument("--repeat", type=int, default=100, help="timeit batches")
    args = parser.parse_args()

    print(f"werkzeug {metadata.version('werkzeug')}, python {sys.version.split()[0]}")
    results = {
        "parse_request": best_of(bench_parse_request, args.number, args.repeat),
        "client_roundtrip": best_of(bench_client_roundtrip, args.number, args.repeat),
    }
    zeug = zeug_means() if args.zeug else {}
    if zeug:
        # Same Werkzeug work; zeug frees what it parsed inside the timing, as Python does.
        results["parse_request_freed"] = results["parse_request"]
    for name, (best, mean) in results.items():
        line = f"{name:19} werkzeug best {best * 1e6:8.2f} µs (mean {mean * 1e6:8.2f})"
        if name in zeug:
            zb, zm = zeug[name]
            line += (
                f"   zeug best {zb * 1e6:7.3f} µs (mean {zm * 1e6:7.3f})"
                f"   ratio best {best / zb:6.1f}x (means {mean / zm:6.1f}x)"
            )
        print(line)


if __name__ == "__main__":
    main()
