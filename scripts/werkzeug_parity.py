#!/usr/bin/env python3
"""Werkzeug's side of zeug's parity tables.

Runs the inputs of `tests/werkzeug_parity.rs` through Werkzeug and prints one line per
case: `area <TAB> input <TAB> Werkzeug's answer`, each a JSON value. The answers are
copied into the Rust tables, so when Werkzeug changes, rerun this and compare:

    python3 -m venv target/venv
    target/venv/bin/pip install werkzeug==3.1.9
    target/venv/bin/python scripts/werkzeug_parity.py

The Rust test suite does not run this script (it must not need Python).
"""

import json
import warnings
from datetime import datetime, timezone

import werkzeug
from werkzeug.datastructures import Authorization, MIMEAccept
from werkzeug.http import (
    dump_cookie,
    is_byte_range_valid,
    parse_accept_header,
    parse_content_range_header,
    parse_cookie,
    parse_date,
    parse_dict_header,
    parse_etags,
    parse_options_header,
    parse_range_header,
    quote_etag,
    unquote_etag,
)
from werkzeug.routing import Map, Rule
from werkzeug.security import safe_join
from werkzeug.test import EnvironBuilder
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Request, Response

warnings.simplefilter("ignore")


def out(area, inp, answer):
    print(f"{area}\t{json.dumps(inp, ensure_ascii=False)}\t{json.dumps(answer, ensure_ascii=False)}")


def attempt(f, *args, **kwargs):
    try:
        return f(*args, **kwargs)
    except Exception as e:  # an exception is an answer too
        return f"!{type(e).__name__}"


def main():
    out("version", "werkzeug", werkzeug.__version__ if hasattr(werkzeug, "__version__") else "3.1.9")

    # set_cookie / dump_cookie: the name=value pair and the attributes.
    for value in ["abc", "", 'a"b', "a b", "a;b", "a,b", "a\\b", "é", "\x01", "\x1a",
                  '"bar:baz"', '"a b"', "x=y", "a:b/c?d", '"', "%22"]:
        out("dump_cookie_value", value, attempt(dump_cookie, "k", value))
    for domain in ["example.com", ".example.com", "example.com:8080", "bücher.de",
                   "EXAMPLE.com", "localhost", "evil.com; x"]:
        out("dump_cookie_domain", domain, attempt(dump_cookie, "k", "v", domain=domain))
    for path in ["/", "/a b", "/a;b", "/ä", "/%20", "/; Domain=evil.com", "/a\r\nb"]:
        out("dump_cookie_path", path, attempt(dump_cookie, "k", "v", path=path))
    for key in ["a b", "a;b", "é"]:
        out("dump_cookie_name", key, attempt(dump_cookie, key, "v"))

    # parse_cookie: the Cookie header a request brings.
    for header in ["a=1; b=2", 'b="x y"', 'c="a\\054b\\"q\\\\"', "%5F%5FHost-session=attacker",
                   "theme=dark%3B%20bold", "junk; a=1", "=x; a=1", "a=b c; d=e", 'q="\\303\\251"',
                   'f="bar:baz"', "a=1;a=2", " sp = x ", 'u="unterminated; v=1']:
        out("parse_cookie", header, [list(p) for p in parse_cookie(header).items(multi=True)])

    # Entity tags.
    for tag in ["abc", 'a"b', "", "W/x", "a\r\nb"]:
        out("quote_etag", tag, attempt(quote_etag, tag))
    for value in ['"abc"', 'W/"abc"', "abc", 'w/"x"', '""']:
        out("unquote_etag", value, list(unquote_etag(value)))
    for value in ['"a", W/"b", c', 'W/ "abc"', '"a"b, "c"', "*", " * ", '"*"', 'W/"", "x"']:
        e = parse_etags(value)
        out("parse_etags", value, {"strong": sorted(e._strong), "weak": sorted(e._weak), "star": e.star_tag})

    # Range and Content-Range.
    for value in ["bytes=0-499", "bytes=-100", "bytes=500-", "bytes=0-1,5-6", "bytes=5-1",
                  "bytes=", "items=0-1", "bytes=0-499, -100", "bytes = 0-1", "bytes=01-2"]:
        r = parse_range_header(value)
        out("parse_range", value, None if r is None else [r.units, [list(x) for x in r.ranges]])
    for value in ["bytes 0-499/1234", "bytes 0-499/*", "bytes */1234", "bytes 5-1/10",
                  "bytes 0-10/5", "bytes 0-0/1"]:
        c = parse_content_range_header(value)
        out("parse_content_range", value, None if c is None else [c.units, c.start, c.stop, c.length])
    for args in [[0, 10, 20], [0, 10, None], [None, None, 5], [None, None, None], [5, 5, 10],
                 [10, 20, 10], [0, None, 10], [19, 20, 20]]:
        out("is_byte_range_valid", args, is_byte_range_valid(*args))

    # Header parameters.
    for value in ["attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
                  "attachment; filename=\"a.txt\"; filename*=UTF-8''%E2%82%AC.txt",
                  "attachment; filename*=iso-8859-1'en'%A3%20rates",
                  "attachment; filename*0*=UTF-8''%E2%82%AC; filename*1=%20a.txt",
                  "attachment; filename*=koi8-r''%C1",
                  "text/html; charset=\"utf-8\"; a=b",
                  'form-data; name="a%22b"',
                  "text/plain; x"]:
        out("parse_options_header", value, list(parse_options_header(value)))
    for value in ["a=b, c=\"d, e\", f", "title*=UTF-8''%E2%82%AC", "realm=\"x\\\"y\""]:
        out("parse_dict_header", value, parse_dict_header(value))

    # Dates.
    for value in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                  "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 +0200",
                  "06 Nov 1994", "Sun, 06 Nov 1960 08:49:37 GMT", "garbage",
                  "Sun, 06 Nov 1994 08:49 GMT"]:
        d = parse_date(value)
        out("parse_date", value, None if d is None else int(d.replace(tzinfo=d.tzinfo or timezone.utc).timestamp()))

    # Accept.
    for header, offers in [("text/html;q=0.5, application/json", ["text/html", "application/json"]),
                           ("*/*", ["text/html", "application/json"]),
                           ("text/*;q=0.3, text/html;q=0.7", ["text/plain", "text/html"]),
                           ("text/html;q=0", ["text/html"]),
                           ("text/html;q=2", ["text/html"]),
                           ("application/json;q=abc, text/html", ["application/json", "text/html"])]:
        a = parse_accept_header(header, MIMEAccept)
        out("accept_best_match", [header, offers], a.best_match(offers))

    # Authorization.
    for header in ["Basic dXNlcjpwYXNz", "Basic dXNlcg==", "basic dXNlcjpwYXNz", "Bearer abc.def",
                   "Basic !!!", 'Digest username="a", realm="r", nonce="n", uri="/", response="x"',
                   "Basic w6k6w6k="]:
        a = Authorization.from_header(header)
        out("authorization", header, None if a is None else [a.type, a.get("username"), a.get("password"), a.token])

    # Query strings.
    for qs in ["a=1&a=2&b=", "a=%ZZ&b=%E2%9C%93", "a+b=c+d", "a;b=c", "=x&y", "a=%ff"]:
        req = Request(EnvironBuilder(query_string=qs).get_environ())
        out("query", qs, [list(p) for p in req.args.items(multi=True)])

    # secure_filename and safe_join.
    for name in ["../../etc/passwd", "My cool movie.mov", "i contain cool \xfcml\xe4uts.txt",
                 "CON", "con.txt", "..", "a/b\\c", "  spaced  ", "NUL.tar.gz", "lpt1"]:
        out("secure_filename", name, secure_filename(name))
    for path in ["a/b", "../x", "/abs", "a/../b", "c:x", "a//b", "con", "a\\b", "", "."]:
        out("safe_join", path, safe_join("/srv", path))

    # Routing.
    m = Map([Rule("/item/<int:id>", endpoint="item"), Rule("/dir/", endpoint="dir"),
             Rule("/f/<float:x>", endpoint="f"), Rule("/p/<path:rest>", endpoint="p"),
             Rule("/only-get", endpoint="g", methods=["GET"])])
    a = m.bind("example.com")
    for path, method in [("/item/42", "GET"), ("/item/٤٢", "GET"), ("/item/-1", "GET"),
                         ("/item/042", "GET"), ("/dir", "GET"), ("/f/1.5", "GET"), ("/f/1", "GET"),
                         ("/p/a/b/", "GET"), ("/only-get", "POST"), ("/only-get", "HEAD")]:
        try:
            ep, vals = a.match(path, method)
            ans = [ep, {k: v for k, v in vals.items()}]
        except Exception as e:
            ans = "!" + type(e).__name__ + (":" + getattr(e, "new_url", "") if hasattr(e, "new_url") else "")
        out("routing", [path, method], ans)

    # make_conditional, answered as `status Content-Range Accept-Ranges` (an exception's
    # own response when it raises), as the Rust table writes it.
    def cond(headers, method="GET", accept_ranges=True, complete_length=10):
        env = EnvironBuilder(method=method, headers=headers).get_environ()
        r = Response(b"0123456789")
        r.set_etag("v1")
        r.last_modified = datetime(2001, 9, 9, 1, 46, 40, tzinfo=timezone.utc)
        try:
            r.make_conditional(env, accept_ranges=accept_ranges, complete_length=complete_length)
        except Exception as e:
            r = e.get_response(env)
        return f"{r.status_code} {r.headers.get('Content-Range')} {r.headers.get('Accept-Ranges')}"
    cases = [
        {"If-None-Match": '"v1"'},
        {"If-Match": '"v2"'},
        {"Range": "bytes=0-4"},
        {"Range": "bytes=20-"},
        {"Range": "bytes=x"},
        {"Range": "bytes=0-1,5-6"},
        {"If-None-Match": '"v1"', "If-Match": '"v2"'},
        {"If-Unmodified-Since": "Sat, 08 Sep 2001 00:00:00 GMT", "If-None-Match": '"v1"'},
    ]
    for headers in cases:
        out("make_conditional", "GET " + " & ".join(f"{k.lower()}: {v}" for k, v in headers.items()), cond(headers))
    out("make_conditional", "POST if-match: \"v2\"", cond({"If-Match": '"v2"'}, method="POST"))
    rng = {"Range": "bytes=0-4"}
    out("make_conditional options", "accept_ranges=False", cond(rng, accept_ranges=False))
    out("make_conditional options", 'accept_ranges="none"', cond(rng, accept_ranges="none"))
    out("make_conditional options", "complete_length unknown", cond(rng, complete_length=None))

if __name__ == "__main__":
    main()
