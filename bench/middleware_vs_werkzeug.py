#!/usr/bin/env python3
"""The work of benches/middleware.rs, done by Werkzeug, per call.

Run `cargo bench --bench middleware -- --warm-up-time 1 --measurement-time 3` for zeug's
figures; this prints Werkzeug's and, given zeug's times in microseconds as arguments in the
order printed, the ratios:

    python3 bench/middleware_vs_werkzeug.py [zeug_us ...]

Each Werkzeug case, like zeug's, builds the environ (werkzeug.test.EnvironBuilder), calls
the app and reads the whole body.
"""

import os
import sys
import tempfile
import timeit

from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.security import safe_join
from werkzeug.test import EnvironBuilder
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response


def fallback(environ, start_response):
    return Response("app", status=404)(environ, start_response)


def run(app, path, headers=None):
    environ = EnvironBuilder(path=path, headers=headers or {}).get_environ()
    out = {}

    def start_response(status, hdrs, exc_info=None):
        out["status"] = status

    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return out["status"], data


def per_call_us(fn, number):
    best = min(timeit.repeat(fn, number=number, repeat=5))
    return best / number * 1e6


def main():
    tmp = tempfile.mkdtemp()
    os.mkdir(os.path.join(tmp, "css"))
    with open(os.path.join(tmp, "css", "site.css"), "w") as f:
        f.write("x" * 1024)
    shared = SharedDataMiddleware(fallback, {"/static": tmp})
    # Werkzeug's SharedData ETag for the 304 case.
    env = EnvironBuilder(path="/static/css/site.css").get_environ()
    headers = {}

    def sr(status, hdrs, exc_info=None):
        headers.update(dict(hdrs))

    b"".join(shared(env, sr))
    etag = headers["Etag"] if "Etag" in headers else headers["ETag"]

    proxy = ProxyFix(lambda e, s: Response("ok")(e, s), x_for=1, x_proto=1, x_host=1)
    page = '<li class="item">an item of a list that repeats itself</li>\n' * (16 * 1024 // 58)

    cases = [
        ("middleware/shared_data_hit", lambda: run(shared, "/static/css/site.css"), 2000),
        (
            "middleware/shared_data_304",
            lambda: run(shared, "/static/css/site.css", {"If-None-Match": etag}),
            2000,
        ),
        (
            "middleware/proxy_fix",
            lambda: run(
                proxy,
                "/",
                {
                    "X-Forwarded-For": "198.51.100.1, 203.0.113.7",
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-Host": "example.com",
                },
            ),
            2000,
        ),
        # Werkzeug has no compression middleware; gzip.compress at level 6 is the floor.
        ("middleware/compress_gzip_16k (gzip.compress)", lambda: __import__("gzip").compress(page.encode(), 6), 2000),
        ("files/safe_join", lambda: safe_join("/srv/static", "css/v2/site.min.css"), 100000),
        ("files/secure_filename", lambda: secure_filename("Résumé final (v2) ünïcödé.pdf"), 100000),
    ]
    zeug = [float(x) for x in sys.argv[1:]]
    for i, (name, fn, number) in enumerate(cases):
        us = per_call_us(fn, number)
        line = f"{name:50s} werkzeug {us:9.2f} µs"
        if i < len(zeug):
            line += f"   zeug {zeug[i]:9.2f} µs   ratio {us / zeug[i]:6.1f}x"
        print(line)


if __name__ == "__main__":
    main()
