#!/usr/bin/env python3
"""Opens N keep-alive connections to HOST:PORT, sends one request on each and reads the
whole answer, then keeps them all open and idle until stdin closes (or a line arrives).

Prints "ready <n>" once every connection has had its answer, so a caller can then read
the server's memory. Used by bench/serve.sh.
"""
import socket
import sys


def read_response(sock):
    """Reads one response: the head, then Content-Length bytes (or chunked to the end)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("the benchmark expects a Content-Length")
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return head


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    conns = []
    for _ in range(count):
        s = socket.create_connection((host, port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        head = read_response(s)
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit("unexpected answer: %r" % head[:40])
        conns.append(s)
    print("ready %d" % len(conns), flush=True)
    sys.stdin.readline()
    # Check they were kept: each must still answer.
    alive = 0
    for s in conns:
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
            read_response(s)
            alive += 1
        except (OSError, ConnectionError):
            pass
    print("alive %d" % alive, flush=True)


if __name__ == "__main__":
    main()
