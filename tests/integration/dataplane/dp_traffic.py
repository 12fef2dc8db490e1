#!/usr/bin/env python3
"""Traffic helpers for the dataplane scenarios (test harness only).

  dp_traffic.py sink PORT                 accept one TCP connection, print "sha256 N HEX" of
                                          everything received
  dp_traffic.py source HOST PORT MBYTES   send MBYTES of pseudo-random data, print "sha256 N HEX"
  dp_traffic.py inject DST_IP KIND [SPI_HEX] [COUNT]
                                          send forged ESP-in-UDP datagrams to DST_IP:4500:
                                          KIND unknown_spi | bad_icv (needs the SA's SPI)
  dp_traffic.py replay IFACE DST_IP COUNT capture one ESP-in-UDP datagram to DST_IP:4500 on
                                          IFACE (AF_PACKET) and send its payload again COUNT
                                          times (replayed packets)
"""
import hashlib
import os
import socket
import struct
import sys


def sink(port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    print("listening", flush=True)
    conn, _ = srv.accept()
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    print("sha256", n, h.hexdigest(), flush=True)


def source(host, port, mbytes):
    conn = socket.create_connection((host, port), timeout=120)
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    n = 0
    for i in range(mbytes):
        # vary every block so that a misplaced segment changes the digest
        data = struct.pack("!I", i) + block[4:]
        conn.sendall(data)
        h.update(data)
        n += len(data)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)
    conn.close()
    print("sha256", n, h.hexdigest(), flush=True)


def inject(dst, kind, spi_hex=None, count=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for seq in range(1, count + 1):
        if kind == "unknown_spi":
            spi = 0xDEADBEEF
        else:
            spi = int(spi_hex, 16)
        # SPI, sequence (ahead of the window), IV, 64 bytes, ICV: well-formed for GCM (IV 8) and
        # CBC/HMAC-SHA2-256-128 (IV 16), so only the ICV check can reject it
        payload = struct.pack("!II", spi, 1000000 + seq) + os.urandom(16 + 64 + 16)
        s.sendto(payload, (dst, 4500))
    print("sent", count, kind, flush=True)


def replay(iface, dst, count):
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    raw.bind((iface, 0))
    raw.settimeout(20)
    dst_bytes = socket.inet_aton(dst)
    print("capturing", flush=True)
    while True:
        frame = raw.recv(65535)
        ip = frame[14:]
        if len(ip) < 28 or ip[9] != 17 or ip[16:20] != dst_bytes:
            continue
        ihl = (ip[0] & 15) * 4
        udp = ip[ihl:]
        if struct.unpack("!H", udp[2:4])[0] != 4500:
            continue
        payload = udp[8:]
        if len(payload) < 40 or payload[:4] == b"\0\0\0\0":
            continue
        break
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(count):
        s.sendto(payload, (dst, 4500))
    spi, seq = struct.unpack("!II", payload[:8])
    print("replayed spi=%08x seq=%d x%d" % (spi, seq, count), flush=True)


def main():
    cmd = sys.argv[1]
    if cmd == "sink":
        sink(int(sys.argv[2]))
    elif cmd == "source":
        source(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "inject":
        inject(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None,
               int(sys.argv[5]) if len(sys.argv) > 5 else 10)
    elif cmd == "replay":
        replay(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
