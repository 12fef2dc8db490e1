#!/usr/bin/env python3
"""TCP transfers with SHA-256 for the lab tests (test harness only).

  lab_traffic.py sink ADDR PORT [TIMEOUT_S]
      listen on ADDR:PORT, print "listening", accept one connection, print
      "sha256 BYTES HEX" of everything received and "seconds S"
  lab_traffic.py source ADDR PORT MBYTES
      send MBYTES MiB as fast as possible, print "sha256 BYTES HEX" and "seconds S"
  lab_traffic.py paced ADDR PORT SECONDS KIB_PER_TICK
      send KIB_PER_TICK KiB every 50 ms for SECONDS, same output
Every 1 MiB block differs (its index in the first bytes) so that a lost, duplicated or
misplaced segment changes the digest. A reset or timeout ends with an error and exit 1.
"""
import hashlib
import os
import socket
import struct
import sys
import time


def sink(addr, port, timeout):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1)
    srv.settimeout(timeout)
    print("listening", flush=True)
    conn, _ = srv.accept()
    conn.settimeout(timeout)
    t0 = time.monotonic()
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    conn.close()
    print("sha256", n, h.hexdigest(), flush=True)
    print("seconds %.2f" % (time.monotonic() - t0), flush=True)


def blocks():
    base = os.urandom(1 << 20)
    i = 0
    while True:
        yield struct.pack("!Q", i) + base[8:]
        i += 1


def finish(conn, h, n, t0):
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)
    conn.close()
    print("sha256", n, h.hexdigest(), flush=True)
    print("seconds %.2f" % (time.monotonic() - t0), flush=True)


def source(addr, port, mbytes):
    conn = socket.create_connection((addr, port), timeout=120)
    h = hashlib.sha256()
    n = 0
    t0 = time.monotonic()
    gen = blocks()
    for _ in range(mbytes):
        data = next(gen)
        conn.sendall(data)
        h.update(data)
        n += len(data)
    finish(conn, h, n, t0)


def paced(addr, port, seconds, kib):
    conn = socket.create_connection((addr, port), timeout=120)
    h = hashlib.sha256()
    n = 0
    t0 = time.monotonic()
    gen = blocks()
    block = b""
    tick = t0
    while time.monotonic() - t0 < seconds:
        while len(block) < kib * 1024:
            block += next(gen)
        data, block = block[:kib * 1024], block[kib * 1024:]
        conn.sendall(data)
        h.update(data)
        n += len(data)
        tick += 0.05
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    finish(conn, h, n, t0)


def main(argv):
    try:
        if len(argv) >= 4 and argv[1] == "sink":
            sink(argv[2], int(argv[3]), float(argv[4]) if len(argv) > 4 else 300.0)
        elif len(argv) == 5 and argv[1] == "source":
            source(argv[2], int(argv[3]), int(argv[4]))
        elif len(argv) == 6 and argv[1] == "paced":
            paced(argv[2], int(argv[3]), float(argv[4]), int(argv[5]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except OSError as e:
        print("error: %s" % e, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
