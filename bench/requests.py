#!/usr/bin/env python3
"""Sends exactly COUNT keep-alive `GET /` requests to HOST:PORT over CONNS connections
(one thread each, one request at a time per connection) and prints the time taken.

For counting a server's instructions per request (a fixed number of requests, unlike
wrk's fixed duration), e.g. under callgrind:

    valgrind --tool=callgrind --callgrind-out-file=cg.out target/release/examples/hello &
    python3 bench/requests.py 127.0.0.1 5000 1000 4      # warm up
    callgrind_control -z                                 # zero the counters
    python3 bench/requests.py 127.0.0.1 5000 20000 4
    callgrind_control -d                                 # dump: Ir / 20000 per request
"""
import socket
import sys
import threading
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def client(host, port, count, failures):
    s = socket.create_connection((host, port))
    buf = b""
    for _ in range(count):
        s.sendall(REQUEST)
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = buf[:head_end]
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(buf) >= head_end + 4 + length:
                    if not head.startswith(b"HTTP/1.1 200"):
                        failures.append(head[:40])
                    buf = buf[head_end + 4 + length:]
                    break
            chunk = s.recv(65536)
            if not chunk:
                failures.append(b"closed")
                return
            buf += chunk
    s.close()


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    conns = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    failures = []
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(host, port, count // conns, failures))
               for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    print(f"{count // conns * conns} requests over {conns} connections in {took:.2f} s, "
          f"{len(failures)} failed")


if __name__ == "__main__":
    main()
