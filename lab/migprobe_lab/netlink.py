"""In-process rtnetlink calls for outage edges: ~0.3 ms instead of 5-10 ms for `ip`.

Only what the fallback outage needs: set a link up or down by name.
"""

import os
import socket
import struct

_RTM_NEWLINK = 16
_NLM_F_REQUEST = 1
_NLM_F_ACK = 4
_NLMSG_ERROR = 2
_IFF_UP = 1


class Rtnl:
    """One NETLINK_ROUTE socket, kept open so each call is a single send and receive."""

    def __init__(self):
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._seq = 0

    def close(self):
        self._sock.close()

    def set_link_up(self, ifname: str, up: bool):
        index = socket.if_nametoindex(ifname)
        self._seq += 1
        ifi = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, _IFF_UP if up else 0, _IFF_UP)
        hdr = struct.pack("=IHHII", 16 + len(ifi), _RTM_NEWLINK, _NLM_F_REQUEST | _NLM_F_ACK,
                          self._seq, 0)
        self._sock.send(hdr + ifi)
        while True:
            msg = self._sock.recv(65536)
            length, mtype, _, seq, _ = struct.unpack_from("=IHHII", msg)
            if mtype == _NLMSG_ERROR and seq == self._seq:
                (err,) = struct.unpack_from("=i", msg, 16)
                if err != 0:
                    raise OSError(-err, f"rtnetlink set {ifname} {'up' if up else 'down'}: "
                                  f"{os.strerror(-err)}")
                return


_IFLA_IFNAME = 3


def _rename_msg(seq, index, new):
    name = new.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(name), _IFLA_IFNAME) + name
    attr += b"\0" * ((4 - len(attr) % 4) % 4)
    ifi = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, 0, 0)
    body = ifi + attr
    return struct.pack("=IHHII", 16 + len(body), _RTM_NEWLINK, _NLM_F_REQUEST | _NLM_F_ACK,
                       seq, 0) + body


def rename_link(rtnl: Rtnl, old: str, new: str):
    """Renames a link that is down (the kernel refuses to rename a running one)."""
    rtnl._seq += 1
    rtnl._sock.send(_rename_msg(rtnl._seq, socket.if_nametoindex(old), new))
    while True:
        msg = rtnl._sock.recv(65536)
        _, mtype, _, seq, _ = struct.unpack_from("=IHHII", msg)
        if mtype == _NLMSG_ERROR and seq == rtnl._seq:
            (err,) = struct.unpack_from("=i", msg, 16)
            if err != 0:
                raise OSError(-err, f"rtnetlink rename {old} -> {new}: {os.strerror(-err)}")
            return
