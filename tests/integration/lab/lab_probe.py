#!/usr/bin/python3
"""Probe streams and checks for the lab's failover test.

  lab_probe.py server ADDRESS PORT SECONDS OUT
      UDP on ADDRESS:PORT (the private endpoint). Waits for the client's first datagram, then
      sends one datagram every 10 ms to the address it came from (the appliance's LAN address
      after SNAT; the appliance routes it back into a tunnel) and logs every datagram it
      receives: OUT gets "r SEQ EPOCH_MS" lines.
  lab_probe.py client ADDRESS PORT SECONDS OUT
      (the AWS VPC client) sends one datagram every 10 ms to ADDRESS:PORT and logs every
      datagram it receives with the interface it arrived on: "r SEQ EPOCH_MS IFNAME" lines.
  lab_probe.py analyze CUT_MS CLIENT_OUT SERVER_OUT OLD_IF NEW_IF
      the outage in each direction around a cut at CUT_MS (epoch ms); prints key: value lines:
      appliance_first_new_ms (first datagram through NEW_IF after the cut, from the cut),
      appliance_gap_ms / aws_gap_ms (longest silence that ends after the cut), the interface of
      the last datagram before the cut, and how many datagrams came after it.
  lab_probe.py check-stream FILE BYTES
      FILE holds exactly BYTES of pe_https.py's /stream (16-byte numbered blocks, in order).
  lab_probe.py listen PORT SECONDS
      a TCP listener (accepts and closes) and a UDP echo on 0.0.0.0:PORT; prints "listening".
  lab_probe.py tcp-connect ADDRESS PORT TIMEOUT_S
  lab_probe.py udp-ask ADDRESS PORT TIMEOUT_S
      print connected|refused|timeout (TCP) or answered|refused|timeout (UDP) and exit 0.

Datagrams carry "CGPR", a sequence number and the sender's epoch ms. Both ends run on one
machine, so their clocks agree.
"""

import socket
import struct
import sys
import threading
import time

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
MAGIC = b"CGPR"
FORMAT = ">4sQQ"
INTERVAL_S = 0.01


def now_ms():
    return time.time_ns() // 1_000_000


def sender(sock, seconds, dest=None):
    start = time.monotonic()
    seq = 0
    while time.monotonic() - start < seconds:
        payload = struct.pack(FORMAT, MAGIC, seq, now_ms())
        try:
            if dest is None:
                sock.send(payload)
            else:
                sock.sendto(payload, dest)
        except OSError:
            pass  # no route / unreachable for a moment: the probe stream goes on
        seq += 1
        delay = start + seq * INTERVAL_S - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def parse(data):
    if len(data) < struct.calcsize(FORMAT):
        return None
    magic, seq, _ = struct.unpack_from(FORMAT, data)
    return seq if magic == MAGIC else None


def server(address, port, seconds, out):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    print(f"listening on {address}:{port}", flush=True)
    deadline = time.monotonic() + seconds
    sock.settimeout(1.0)
    with open(out, "w", buffering=1) as log:
        peer = None
        while peer is None and time.monotonic() < deadline:
            try:
                data, peer = sock.recvfrom(2048)
            except socket.timeout:
                continue
            seq = parse(data)
            if seq is None:
                peer = None
                continue
            log.write(f"r {seq} {now_ms()}\n")
        if peer is None:
            return 1
        print(f"client {peer[0]}:{peer[1]}", flush=True)
        left = deadline - time.monotonic()
        threading.Thread(target=sender, args=(sock, left, peer), daemon=True).start()
        while time.monotonic() < deadline:
            try:
                data = sock.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                continue
            seq = parse(data)
            if seq is not None:
                log.write(f"r {seq} {now_ms()}\n")
    return 0


def client(address, port, seconds, out):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.connect((address, port))
    sock.settimeout(1.0)
    names = {}
    threading.Thread(target=sender, args=(sock, seconds), daemon=True).start()
    deadline = time.monotonic() + seconds
    with open(out, "w", buffering=1) as log:
        print("sending", flush=True)
        while time.monotonic() < deadline:
            try:
                data, ancillary, _, _ = sock.recvmsg(2048, socket.CMSG_SPACE(12))
            except (socket.timeout, OSError):
                continue
            seq = parse(data)
            if seq is None:
                continue
            ifname = "?"
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 4:
                    index = struct.unpack_from("I", value)[0]
                    if index not in names:
                        try:
                            names[index] = socket.if_indextoname(index)
                        except OSError:
                            names[index] = str(index)
                    ifname = names[index]
            log.write(f"r {seq} {now_ms()} {ifname}\n")
    return 0


def read_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "r":
                rows.append((int(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else ""))
    return rows


def longest_gap_after(times, cut):
    """The longest silence (ms) between consecutive arrivals that ends after the cut, counted
    from the cut at the earliest; -1 when nothing arrived after the cut."""
    best = -1
    previous = None
    for t in times:
        if t > cut:
            start = cut if previous is None else max(previous, cut)
            best = max(best, t - start)
        previous = t
    return best


def analyze(cut, client_out, server_out, old_if, new_if):
    rows = read_log(client_out)
    server_rows = read_log(server_out)
    before = [r for r in rows if r[1] <= cut]
    after = [r for r in rows if r[1] > cut]
    first_new = next((r for r in after if r[2] == new_if), None)
    print(f"appliance_last_if_before_cut: {before[-1][2] if before else 'none'}")
    print(f"appliance_packets_before_cut: {len(before)}")
    print(f"appliance_packets_after_cut: {len(after)}")
    print(f"appliance_first_new_ms: {first_new[1] - cut if first_new else -1}")
    print(f"appliance_gap_ms: {longest_gap_after([r[1] for r in rows], cut)}")
    late_old = [r for r in after if r[2] == old_if and first_new and r[1] > first_new[1]]
    print(f"appliance_old_if_after_switch: {len(late_old)}")
    print(f"aws_packets_after_cut: {len([r for r in server_rows if r[1] > cut])}")
    print(f"aws_gap_ms: {longest_gap_after([r[1] for r in server_rows], cut)}")
    return 0


def check_stream(path, size):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != size:
        print(f"{path}: {len(data)} bytes, expected {size}")
        return 1
    for i in range(0, len(data), 16):
        block = data[i:i + 16]
        if block[:8] != b"CGSTREAM" or struct.unpack(">Q", block[8:])[0] != i // 16:
            print(f"{path}: block {i // 16} is wrong: {block!r}")
            return 1
    print(f"{path}: {size} bytes, {size // 16} blocks in order")
    return 0


def listen(port, seconds):
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", port))
    tcp.listen(16)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))

    def echo():
        while True:
            data, peer = udp.recvfrom(2048)
            udp.sendto(data, peer)

    threading.Thread(target=echo, daemon=True).start()
    print("listening", flush=True)
    tcp.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn, _ = tcp.accept()
            conn.close()
        except socket.timeout:
            pass
    return 0


def tcp_connect(address, port, timeout):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
        print("connected")
    except ConnectionRefusedError:
        print("refused")
    except (socket.timeout, OSError):
        print("timeout")
    return 0


def udp_ask(address, port, timeout):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    sock.connect((address, port))
    try:
        sock.send(b"crossgate lab probe")
        sock.recv(2048)
        print("answered")
    except ConnectionRefusedError:
        print("refused")
    except (socket.timeout, OSError):
        print("timeout")
    return 0


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "listen":
        return listen(int(args[1]), float(args[2]))
    if len(args) == 4 and args[0] in ("tcp-connect", "udp-ask"):
        fn = tcp_connect if args[0] == "tcp-connect" else udp_ask
        return fn(args[1], int(args[2]), float(args[3]))
    if len(args) == 5 and args[0] in ("server", "client"):
        fn = server if args[0] == "server" else client
        return fn(args[1], int(args[2]), float(args[3]), args[4])
    if len(args) == 6 and args[0] == "analyze":
        return analyze(int(args[1]), args[2], args[3], args[4], args[5])
    if len(args) == 3 and args[0] == "check-stream":
        return check_stream(args[1], int(args[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
