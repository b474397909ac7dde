#!/usr/bin/env python3
"""Werkzeug's development server, threaded, serving Hello World: the Python peer of
bench/serve.sh. Listens on HOST:PORT (default 127.0.0.1:5002)."""
import os

from werkzeug.serving import run_simple


def app(environ, start_response):
    body = b"Hello World!"
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


if __name__ == "__main__":
    run_simple(
        os.environ.get("HOST", "127.0.0.1"),
        int(os.environ.get("PORT", "5002")),
        app,
        threaded=True,
    )
