#!/usr/bin/python3
"""The storage account's private endpoint in the crossgate lab: an HTTPS server.

    pe_https.py ADDRESS PORT CERT KEY ROOT

Serves the files under ROOT (GET/HEAD) with the certificate CERT (issued by the lab's CA for
acct.dfs.core.windows.net) and, for transfers that must last a while, a paced stream:

    GET /stream?seconds=S&kib=K   S seconds of data at K KiB/s (default 30 s, 256 KiB/s)

The stream is a sequence of 16-byte blocks, each "CGSTREAM" followed by the block's index as a
big-endian 64-bit number, so a client can check that nothing was lost, duplicated or reordered
(lab_probe.py does). Logs one line per request to stderr.
"""

import http.server
import socketserver
import ssl
import struct
import sys
import time
import urllib.parse

BLOCK = 16
TICK_S = 0.01


def stream_bytes(first_block, count):
    return b"".join(b"CGSTREAM" + struct.pack(">Q", i) for i in range(first_block, first_block + count))


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/stream":
            return super().do_GET()
        query = urllib.parse.parse_qs(url.query)
        try:
            seconds = float(query.get("seconds", ["30"])[0])
            kib = int(query.get("kib", ["256"])[0])
        except ValueError:
            self.send_error(400, "seconds and kib must be numbers")
            return
        if not 0 < seconds <= 3600 or not 1 <= kib <= 1048576:
            self.send_error(400, "seconds must be in (0, 3600], kib in [1, 1048576]")
            return
        per_tick = max(1, kib * 1024 * TICK_S // BLOCK)
        ticks = int(seconds / TICK_S)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(int(per_tick * ticks * BLOCK)))
        self.end_headers()
        start = time.monotonic()
        block = 0
        for tick in range(ticks):
            self.wfile.write(stream_bytes(block, int(per_tick)))
            block += int(per_tick)
            delay = start + (tick + 1) * TICK_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self.wfile.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer.server_bind looks the address up in DNS (socket.getfqdn); the namespace
        # has no resolver of its own, so skip that.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: pe_https.py ADDRESS PORT CERT KEY ROOT")
    address, port, cert, key, root = sys.argv[1:]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)

    def handler(*args, **kwargs):
        return Handler(*args, directory=root, **kwargs)

    server = Server((address, int(port)), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"pe_https: serving {root} on https://{address}:{port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
