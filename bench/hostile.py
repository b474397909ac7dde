#!/usr/bin/env python3
"""Hostile clients against a running server, with the server's memory and latency.

    hostile.py heads  HOST PORT PID [COUNT=10000] [SIZE=64000]
        COUNT connections each send SIZE bytes of a request head that never ends; prints
        how many were refused (503) or closed, and the server's RSS while they are open.
    hostile.py bodies HOST PORT PID [COUNT=8] [SIZE=62914560] [PATH=/post]
        COUNT clients POST a SIZE-byte body at once; prints their statuses and the
        server's peak RSS while they run.
    hostile.py slow   HOST PORT PID [COUNT=1100]
        COUNT connections declare a 30 MB upload and send one byte; then a fresh GET / is
        timed 20 times; prints the median and the maximum.

Every mode prints the load average, since latencies depend on it. Used by
bench/hostile.sh; needs only the standard library.
"""
import os
import socket
import statistics
import sys
import threading
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def status_of(sock, timeout=30):
    """The status code of the first answer on `sock`, or None if it closed without one."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            data += chunk
    except OSError:
        return None
    return int(data.split(b" ", 2)[1])


def heads(host, port, pid, count=10000, size=64000):
    before = rss_kib(pid)
    pad = b"x" * size
    conns = []
    for _ in range(count):
        s = socket.create_connection((host, port))
        s.setblocking(False)
        head = b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + pad
        try:
            s.send(head)
        except OSError:
            pass
        conns.append(s)
    time.sleep(2)  # let the server read what it is going to read
    peak = rss_kib(pid)
    answers = {}
    for s in conns:
        s.setblocking(True)
        s.settimeout(0.01)
        try:
            data = s.recv(64)
            key = data[9:12].decode() if data else "closed"
        except OSError:
            key = "open"
        answers[key] = answers.get(key, 0) + 1
    print(f"heads: {count} connections x {size} B partial heads: RSS {before} KiB before, "
          f"{peak} KiB with them open; answers {answers}; load {load()}")
    for s in conns:
        s.close()
    time.sleep(1)
    print(f"heads: RSS {rss_kib(pid)} KiB after they closed")


def bodies(host, port, pid, count=8, size=60 * 1024 * 1024, path="/post"):
    before = rss_kib(pid)
    statuses = [None] * count
    peak = [before]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.01)

    def post(i):
        s = socket.create_connection((host, port))
        block = b"b" * (1024 * 1024)
        try:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: h\r\nContent-Type: application/octet-stream"
                      f"\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode())
            sent = 0
            while sent < size:
                n = min(len(block), size - sent)
                s.sendall(block[:n])
                sent += n
        except OSError:
            pass
        statuses[i] = status_of(s, timeout=120)
        s.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=post, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    print(f"bodies: {count} x {size} B POST {path}: statuses {statuses}; RSS {before} KiB "
          f"before, peak {peak[0]} KiB; load {load()}")


def slow(host, port, pid, count=1100):
    conns = []
    for _ in range(count):
        s = socket.create_connection((host, port))
        s.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 30000000\r\n\r\nx")
        conns.append(s)
    time.sleep(0.5)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        s = socket.create_connection((host, port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        assert status_of(s) == 200
        times.append((time.perf_counter() - started) * 1000)
        s.close()
    print(f"slow: GET with {count} slow bodies open: median {statistics.median(times):.2f} ms, "
          f"max {max(times):.2f} ms (20 requests); server RSS {rss_kib(pid)} KiB, threads "
          f"{len(os.listdir(f'/proc/{pid}/task'))}; load {load()}")
    for s in conns:
        s.close()


def main():
    mode, host, port, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rest = sys.argv[5:]
    if mode == "heads":
        heads(host, port, pid, *map(int, rest))
    elif mode == "bodies":
        args = [int(a) for a in rest[:2]] + rest[2:3]
        bodies(host, port, pid, *args)
    elif mode == "slow":
        slow(host, port, pid, *map(int, rest))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
