#!/usr/bin/env python3
"""Test peer for the crossgate charon plugin: the dataplane side of dp_proto.h, minus ESP.

Test harness only (not product). It accepts the plugin on a SOCK_SEQPACKET socket, answers
HELLO, GET_SPI, ADD_SA, UPDATE_SA, DEL_SA, QUERY_SA, the policy requests and FLUSH, records what
it was given in a JSON state file (mode 0600: it holds test keys), and relays IKE between
charon and real UDP sockets on ports 500 and 4500.

A control socket takes one command per connection:
  expire soft|hard SPI   raise EXPIRE for the installed SA with SPI (hex)
  disconnect             close the plugin's connection and drop its SAs and policies
  nat on                 pretend the peers sit behind a NAT: their UDP source ports 500 and
                         4500 appear to charon as 30500 and 34500
  nat remap              the NAT moves port 4500 to 44500; raise MAPPING for every inbound SA
The client side: dp_test_peer.py ctl CTL_SOCKET COMMAND...

Usage: dp_test_peer.py serve DP_SOCKET CTL_SOCKET STATE_FILE LOCAL_IPV4
"""
import ctypes
import errno
import json
import os
import random
import selectors
import socket
import sys
import time

HELLO, GET_SPI, ADD_SA, UPDATE_SA, DEL_SA, QUERY_SA = 1, 2, 3, 4, 5, 6
ADD_POLICY, DEL_POLICY, QUERY_POLICY, FLUSH, REPLY = 7, 8, 9, 10, 64
EV_EXPIRE, EV_MAPPING, EV_IKE_RX, IKE_TX = 128, 129, 130, 160
VERSION = 1
SA_INBOUND, SA_ENCAP = 1, 2
MAX_MSG = 64 * 1024 + 256


class Hdr(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint16), ("flags", ctypes.c_uint16), ("len", ctypes.c_uint32),
                ("req_id", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class Addr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_uint8), ("pad", ctypes.c_uint8), ("port", ctypes.c_uint16),
                ("addr", ctypes.c_uint8 * 16)]

    def ip(self):
        raw = bytes(self.addr)
        if self.family == 4:
            return socket.inet_ntop(socket.AF_INET, raw[:4])
        if self.family == 6:
            return socket.inet_ntop(socket.AF_INET6, raw)
        return None

    @staticmethod
    def make(ip, port):
        a = Addr()
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        raw = socket.inet_pton(fam, ip)
        a.family = 6 if fam == socket.AF_INET6 else 4
        a.port = port
        ctypes.memmove(a.addr, raw, len(raw))
        return a


class Ts(ctypes.Structure):
    _fields_ = [("from_", Addr), ("to", Addr), ("from_port", ctypes.c_uint16),
                ("to_port", ctypes.c_uint16), ("protocol", ctypes.c_uint8),
                ("pad", ctypes.c_uint8 * 3)]

    def text(self):
        return "%s-%s[%d:%d-%d]" % (self.from_.ip(), self.to.ip(), self.protocol,
                                    self.from_port, self.to_port)


class Mark(ctypes.Structure):
    _fields_ = [("value", ctypes.c_uint32), ("mask", ctypes.c_uint32)]


class SaId(ctypes.Structure):
    _fields_ = [("src", Addr), ("dst", Addr), ("spi", ctypes.c_uint8 * 4),
                ("proto", ctypes.c_uint8), ("pad", ctypes.c_uint8 * 3), ("mark", Mark),
                ("if_id", ctypes.c_uint32)]


class Lifetime(ctypes.Structure):
    _fields_ = [("bytes_soft", ctypes.c_uint64), ("bytes_hard", ctypes.c_uint64),
                ("packets_soft", ctypes.c_uint64), ("packets_hard", ctypes.c_uint64),
                ("time_soft_s", ctypes.c_uint32), ("time_hard_s", ctypes.c_uint32)]


class AddSa(ctypes.Structure):
    _fields_ = [("id", SaId), ("lifetime", Lifetime), ("reqid", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("enc_alg", ctypes.c_uint16),
                ("int_alg", ctypes.c_uint16), ("enc_key_len", ctypes.c_uint16),
                ("int_key_len", ctypes.c_uint16), ("replay_window", ctypes.c_uint32),
                ("tfc", ctypes.c_uint32), ("mode", ctypes.c_uint32),
                ("src_ts_count", ctypes.c_uint16), ("dst_ts_count", ctypes.c_uint16),
                ("set_mark", Mark)]


class UpdateSa(ctypes.Structure):
    _fields_ = [("id", SaId), ("new_src", Addr), ("new_dst", Addr), ("flags", ctypes.c_uint32),
                ("new_reqid", ctypes.c_uint32)]


class GetSpi(ctypes.Structure):
    _fields_ = [("src", Addr), ("dst", Addr), ("proto", ctypes.c_uint8),
                ("pad", ctypes.c_uint8 * 3)]


class Policy(ctypes.Structure):
    _fields_ = [("src_ts", Ts), ("dst_ts", Ts), ("src", Addr), ("dst", Addr), ("mark", Mark),
                ("if_id", ctypes.c_uint32), ("reqid", ctypes.c_uint32),
                ("spi", ctypes.c_uint8 * 4), ("priority", ctypes.c_uint32),
                ("dir", ctypes.c_uint8), ("type", ctypes.c_uint8), ("prio_class", ctypes.c_uint8),
                ("pad", ctypes.c_uint8)]


class Expire(ctypes.Structure):
    _fields_ = [("spi", ctypes.c_uint8 * 4), ("proto", ctypes.c_uint8), ("hard", ctypes.c_uint8),
                ("pad", ctypes.c_uint8 * 2), ("dst", Addr), ("reqid", ctypes.c_uint32),
                ("pad2", ctypes.c_uint32)]


class Mapping(ctypes.Structure):
    _fields_ = [("spi", ctypes.c_uint8 * 4), ("proto", ctypes.c_uint8),
                ("pad", ctypes.c_uint8 * 3), ("dst", Addr), ("new_remote", Addr)]


class Ike(ctypes.Structure):
    _fields_ = [("local", Addr), ("remote", Addr), ("dscp", ctypes.c_uint8),
                ("pad", ctypes.c_uint8 * 3), ("payload_len", ctypes.c_uint32)]


# The C layout (dp_proto.h, natural alignment) — fails loudly if the header changes shape.
assert ctypes.sizeof(Hdr) == 16 and ctypes.sizeof(Addr) == 20 and ctypes.sizeof(Ts) == 48
assert ctypes.sizeof(SaId) == 60 and ctypes.sizeof(Lifetime) == 40
assert ctypes.sizeof(AddSa) == 144 and ctypes.sizeof(Policy) == 164


def log(msg):
    print("dp_test_peer: " + msg, file=sys.stderr, flush=True)


def parse(cls, body, off=0):
    if len(body) < off + ctypes.sizeof(cls):
        raise ValueError("%s: body too short" % cls.__name__)
    return cls.from_buffer_copy(body, off)


class Peer:
    def __init__(self, dp_path, ctl_path, state_path, local_ip):
        self.state_path = state_path
        self.local_ip = local_ip
        self.sel = selectors.DefaultSelector()
        self.client = None
        self.sas = {}        # spi hex -> dict
        self.policies = []   # dicts
        self.spis = set()
        self.history = {"connections": 0, "add_sa": 0, "del_sa": 0, "ike_rx": 0, "ike_tx": 0,
                        "expires_sent": 0}
        for path in (dp_path, ctl_path):
            if os.path.exists(path):
                os.unlink(path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(dp_path)
        os.chmod(dp_path, 0o600)
        self.listener.listen(4)
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.ctl.bind(ctl_path)
        self.ctl.listen(4)
        self.udp = {}
        self.nat = {}        # peer's real source port -> port shown to charon
        self.unnat = {}      # port shown to charon -> real port
        for port in (500, 4500):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((local_ip, port))
            self.udp[port] = s
            self.sel.register(s, selectors.EVENT_READ, ("udp", port))
        self.sel.register(self.listener, selectors.EVENT_READ, ("accept", None))
        self.sel.register(self.ctl, selectors.EVENT_READ, ("ctl", None))
        self.dump()

    def dump(self):
        tmp = self.state_path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"connected": self.client is not None, "sas": self.sas,
                       "policies": self.policies, "history": self.history}, f, indent=1)
        os.replace(tmp, self.state_path)

    def send(self, mtype, req_id, body):
        hdr = Hdr(type=mtype, len=ctypes.sizeof(Hdr) + len(body), req_id=req_id)
        self.client.send(bytes(hdr) + body)

    def reply(self, req_id, status, body=b""):
        self.send(REPLY, req_id, bytes(ctypes.c_int32(status)) + bytes(4) + body)

    def drop_client(self):
        if self.client:
            self.sel.unregister(self.client)
            self.client.close()
            self.client = None
        # the dataplane drops the client's SAs and policies with its connection
        self.sas.clear()
        self.policies.clear()
        self.spis.clear()
        self.dump()

    def handle_request(self, hdr, body):
        t = hdr.type
        if t == HELLO:
            version = int.from_bytes(body[:4], sys.byteorder)
            if version != VERSION:
                self.reply(hdr.req_id, errno.EPROTO)
                return False
            self.reply(hdr.req_id, 0, VERSION.to_bytes(4, sys.byteorder) +
                       os.getpid().to_bytes(4, sys.byteorder))
        elif t == GET_SPI:
            parse(GetSpi, body)
            spi = random.randint(0xc0000000, 0xcfffffff)
            self.spis.add(spi)
            self.reply(hdr.req_id, 0, spi.to_bytes(4, "big"))
        elif t == ADD_SA:
            self.add_sa(hdr, body)
        elif t == UPDATE_SA:
            u = parse(UpdateSa, body)
            sa = self.sas.get(bytes(u.id.spi).hex())
            if not sa:
                self.reply(hdr.req_id, errno.ENOENT)
                return True
            sa["src"] = "%s:%d" % (u.new_src.ip(), u.new_src.port)
            sa["dst"] = "%s:%d" % (u.new_dst.ip(), u.new_dst.port)
            sa["updates"] = sa.get("updates", 0) + 1
            self.reply(hdr.req_id, 0)
        elif t == DEL_SA:
            i = parse(SaId, body)
            spi = bytes(i.spi).hex()
            self.spis.discard(int(spi, 16))
            found = self.sas.pop(spi, None)
            self.history["del_sa"] += 1
            self.reply(hdr.req_id, 0 if found else errno.ENOENT)
        elif t == QUERY_SA:
            found = bytes(parse(SaId, body).spi).hex() in self.sas
            self.reply(hdr.req_id, 0 if found else errno.ENOENT, bytes(24))
        elif t in (ADD_POLICY, DEL_POLICY, QUERY_POLICY):
            self.policy(hdr, body)
        elif t == FLUSH:
            what = int.from_bytes(body[:4], sys.byteorder) if len(body) >= 4 else 3
            if what & 1:
                self.sas.clear()
            if what & 2:
                self.policies.clear()
            self.reply(hdr.req_id, 0)
        else:
            self.reply(hdr.req_id, errno.EOPNOTSUPP)
        return True

    def add_sa(self, hdr, body):
        a = parse(AddSa, body)
        off = ctypes.sizeof(AddSa)
        enc = body[off:off + a.enc_key_len]
        off += a.enc_key_len
        integ = body[off:off + a.int_key_len]
        off += a.int_key_len
        ts = []
        for _ in range(a.src_ts_count + a.dst_ts_count):
            ts.append(parse(Ts, body, off).text())
            off += ctypes.sizeof(Ts)
        if off != len(body):
            self.reply(hdr.req_id, errno.EINVAL)
            return
        spi = bytes(a.id.spi).hex()
        self.sas[spi] = {
            "inbound": bool(a.flags & SA_INBOUND), "encap": bool(a.flags & SA_ENCAP),
            "flags": a.flags, "reqid": a.reqid, "proto": a.id.proto,
            "src": "%s:%d" % (a.id.src.ip(), a.id.src.port),
            "dst": "%s:%d" % (a.id.dst.ip(), a.id.dst.port),
            "enc_alg": a.enc_alg, "int_alg": a.int_alg, "enc_key": enc.hex(),
            "int_key": integ.hex(), "replay_window": a.replay_window, "mode": a.mode,
            "time_soft": a.lifetime.time_soft_s, "time_hard": a.lifetime.time_hard_s,
            "src_ts": ts[:a.src_ts_count], "dst_ts": ts[a.src_ts_count:],
        }
        self.history["add_sa"] += 1
        self.reply(hdr.req_id, 0)

    def policy(self, hdr, body):
        p = parse(Policy, body)
        key = [p.src_ts.text(), p.dst_ts.text(), p.dir, p.if_id]
        if hdr.type == ADD_POLICY:
            self.policies.append({"key": key, "type": p.type, "reqid": p.reqid,
                                  "spi": bytes(p.spi).hex(), "priority": p.priority})
            self.reply(hdr.req_id, 0)
            return
        match = [x for x in self.policies if x["key"] == key]
        if not match:
            self.reply(hdr.req_id, errno.ENOENT, bytes(8) if hdr.type == QUERY_POLICY else b"")
        elif hdr.type == DEL_POLICY:
            self.policies.remove(match[0])
            self.reply(hdr.req_id, 0)
        else:
            self.reply(hdr.req_id, 0, bytes(8))

    def on_client(self):
        try:
            msg = self.client.recv(MAX_MSG)
        except OSError:
            msg = b""
        if not msg:
            log("plugin disconnected")
            self.drop_client()
            return
        hdr = parse(Hdr, msg)
        body = msg[ctypes.sizeof(Hdr):]
        if hdr.len != len(msg):
            log("bad length field in message type %d" % hdr.type)
            return
        if hdr.type == IKE_TX:
            ike = parse(Ike, body)
            payload = body[ctypes.sizeof(Ike):]
            assert ike.payload_len == len(payload)
            port = 4500 if ike.local.port == 4500 else 500
            rport = self.unnat.get(ike.remote.port, ike.remote.port)
            self.udp[port].sendto(payload, (ike.remote.ip(), rport))
            self.history["ike_tx"] += 1
            self.dump()
            return
        try:
            keep = self.handle_request(hdr, body)
        except ValueError as e:
            log("malformed request type %d: %s" % (hdr.type, e))
            self.reply(hdr.req_id, errno.EINVAL)
            keep = True
        if not keep:
            self.drop_client()
        else:
            self.dump()

    def on_udp(self, port):
        data, (ip, rport) = self.udp[port].recvfrom(65535)
        if not self.client:
            return
        rport = self.nat.get(rport, rport)
        ike = Ike(local=Addr.make(self.local_ip, port), remote=Addr.make(ip, rport),
                  payload_len=len(data))
        self.send(EV_IKE_RX, 0, bytes(ike) + data)
        self.history["ike_rx"] += 1

    def on_ctl(self):
        conn, _ = self.ctl.accept()
        with conn:
            words = conn.recv(4096).decode().split()
            conn.send(self.command(words).encode())

    def command(self, words):
        if words == ["disconnect"]:
            if not self.client:
                return "error: no plugin connected"
            log("dropping the plugin's connection and its SAs")
            self.drop_client()
            return "ok"
        if words == ["nat", "on"]:
            self.nat = {500: 30500, 4500: 34500}
            self.unnat = {30500: 500, 34500: 4500}
            return "ok"
        if words == ["nat", "remap"] and self.nat:
            self.nat[4500] = 44500
            self.unnat[44500] = 4500
            for spi, sa in self.sas.items():
                if not sa["inbound"]:
                    continue
                ip, port = sa["dst"].rsplit(":", 1)
                rip = sa["src"].rsplit(":", 1)[0]
                ev = Mapping(proto=sa["proto"], dst=Addr.make(ip, int(port)),
                             new_remote=Addr.make(rip, 44500))
                ctypes.memmove(ev.spi, bytes.fromhex(spi), 4)
                self.send(EV_MAPPING, 0, bytes(ev))
            return "ok"
        if len(words) == 3 and words[0] == "expire" and words[1] in ("soft", "hard"):
            sa = self.sas.get(words[2].lower().rjust(8, "0"))
            if not sa or not self.client:
                return "error: no such SA"
            ip, port = sa["dst"].rsplit(":", 1)
            ev = Expire(proto=sa["proto"], hard=1 if words[1] == "hard" else 0,
                        dst=Addr.make(ip, int(port)), reqid=sa["reqid"])
            ctypes.memmove(ev.spi, bytes.fromhex(words[2].rjust(8, "0")), 4)
            self.send(EV_EXPIRE, 0, bytes(ev))
            self.history["expires_sent"] += 1
            self.dump()
            return "ok"
        return "error: unknown command"

    def run(self):
        while True:
            for key, _ in self.sel.select():
                kind, arg = key.data
                if kind == "accept":
                    conn, _ = self.listener.accept()
                    if self.client:
                        log("second client refused")
                        conn.close()
                        continue
                    self.client = conn
                    self.history["connections"] += 1
                    self.sel.register(conn, selectors.EVENT_READ, ("client", None))
                    log("plugin connected")
                    self.dump()
                elif kind == "client":
                    self.on_client()
                elif kind == "udp":
                    self.on_udp(arg)
                elif kind == "ctl":
                    self.on_ctl()


def ctl(path, words):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.send(" ".join(words).encode())
    answer = s.recv(4096).decode()
    print(answer)
    return 0 if answer == "ok" else 1


def main(argv):
    if len(argv) >= 3 and argv[1] == "ctl":
        return ctl(argv[2], argv[3:])
    if len(argv) == 6 and argv[1] == "serve":
        Peer(argv[2], argv[3], argv[4], argv[5]).run()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
