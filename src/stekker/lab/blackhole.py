"""Misbehaving DNS endpoints of the lab.

``python -m stekker.lab.blackhole ADDR [PORT] [MODE]``

* mode ``silent`` (default): reads UDP datagrams and TCP connections on
  ADDR:PORT and never answers.  The lab runs it on <net>.0.99 so a
  delegation to it (and its use as a resolver) times out.
* mode ``truncate``: answers every UDP query with an empty response with the
  TC bit set, and closes every TCP connection at once without answering
  (<net>.0.98): a client sees "truncated, and the TCP retry failed".
"""

from __future__ import annotations

import selectors
import socket
import sys


def _truncated_reply(query: bytes) -> bytes | None:
    """The query's header and question with QR, TC set and no records."""
    if len(query) < 12:
        return None
    qid, flags = query[0:2], int.from_bytes(query[2:4], "big")
    flags = (flags | 0x8000 | 0x0200) & ~0x000F  # QR, TC, rcode NOERROR
    # keep the question section only (assumes one question, no compression)
    end = 12
    while end < len(query) and query[end] != 0:
        end += query[end] + 1
    end += 5  # root label + QTYPE + QCLASS
    if end > len(query):
        return None
    return qid + flags.to_bytes(2, "big") + b"\x00\x01\x00\x00\x00\x00\x00\x00" + query[12:end]


def serve(addr: str, port: int = 53, mode: str = "silent") -> None:
    """``addr``: one address, or several separated by commas (a pool of dead hosts)."""
    sel = selectors.DefaultSelector()
    udps: set[socket.socket] = set()
    tcps: set[socket.socket] = set()
    for a in addr.split(","):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        udp.bind((a, port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((a, port))
        tcp.listen(128)
        for s in (udp, tcp):
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        udps.add(udp)
        tcps.add(tcp)
    conns: list[socket.socket] = []
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            try:
                if s in udps:
                    data, peer = s.recvfrom(65535)
                    if mode == "truncate":
                        reply = _truncated_reply(data)
                        if reply:
                            s.sendto(reply, peer)
                elif s in tcps:
                    c, _ = s.accept()
                    if mode == "truncate":
                        c.close()
                        continue
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
    serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 53,
          sys.argv[3] if len(sys.argv) > 3 else "silent")
