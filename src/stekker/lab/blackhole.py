"""A DNS black hole: ``python -m stekker.lab.blackhole ADDR [PORT]`` reads
UDP datagrams and TCP connections on ADDR:PORT and never answers.  The lab
starts it on <net>.0.99 so a delegation to it (and its use as a resolver)
times out."""

from __future__ import annotations

import selectors
import socket
import sys


def serve(addr: str, port: int = 53) -> None:
    sel = selectors.DefaultSelector()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    udp.bind((addr, port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, port))
    tcp.listen(128)
    for s in (udp, tcp):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    conns: list[socket.socket] = []
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            try:
                if s is udp:
                    udp.recvfrom(65535)
                elif s is tcp:
                    c, _ = tcp.accept()
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ)
                    conns.append(c)
                    if len(conns) > 200:  # bound the open connections
                        old = conns.pop(0)
                        sel.unregister(old)
                        old.close()
                else:
                    if not s.recv(65535):
                        sel.unregister(s)
                        conns.remove(s)
                        s.close()
            except (BlockingIOError, ConnectionError, ValueError, KeyError):
                pass


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 53)
