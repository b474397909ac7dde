"""A pytest plugin that points `requests`' own test suite at a running httpbin.

`requests`' tests take their server from pytest-httpbin's `httpbin` and `httpbin_secure`
fixtures. This plugin provides those two fixtures instead: `httpbin` is the server at
`$HTTPBIN_URL` (default `http://127.0.0.1:5000`), and `httpbin_secure` skips the test
(the example serves plain HTTP, so HTTPS-only tests are excepted). See `docs/httpbin.md`.

    cargo run --release --example httpbin &
    cd requests-X.Y.Z && python -m pytest -p requests_suite_plugin tests
"""

import os

import pytest


class _Server:
    def __init__(self, url):
        self.url = url.rstrip("/")
        rest = self.url.split("://", 1)[1]
        self.host, _, port = rest.partition(":")
        self.port = int(port or 80)

    def __add__(self, other):
        return self.url + other


@pytest.fixture(scope="session")
def httpbin():
    return _Server(os.environ.get("HTTPBIN_URL", "http://127.0.0.1:5000"))


@pytest.fixture(scope="session")
def httpbin_secure():
    pytest.skip("HTTPS-only test: the httpbin example serves plain HTTP")


@pytest.fixture(scope="session")
def httpbin_ca_bundle():
    pytest.skip("HTTPS-only test: the httpbin example serves plain HTTP")
