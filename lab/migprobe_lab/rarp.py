"""Self-announce frames as QEMU sends them after a switchover (RARP, ethertype 0x8035).

Used by the namespace fallback: the frames leave the guest's own interface, so the lab
bridge learns the MAC on its new port exactly as it does after a QEMU migration.
"""

import ctypes
import os
import socket
import struct
import threading
import time

ETH_P_RARP = 0x8035
# QEMU's announce schedule after RESUME (ms): 5 frames, the gaps growing by 100 ms.
SCHEDULE_MS = (0, 50, 200, 450, 800)
_CLONE_NEWNET = 0x40000000


def rarp_frame(mac: str) -> bytes:
    """The frame of QEMU's qemu_announce_self: RARP request-reverse, sender = target = MAC."""
    m = bytes.fromhex(mac.replace(":", ""))
    eth = b"\xff" * 6 + m + struct.pack("!H", ETH_P_RARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 3) + m + b"\0" * 4 + m + b"\0" * 4
    return (eth + arp).ljust(60, b"\0")


def _send_all(netns, ifname, mac, sent):
    try:
        if netns:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                # setns changes only this thread's namespace; the thread exists only for this.
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {netns}")
            finally:
                os.close(fd)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((ifname, 0))
        frame = rarp_frame(mac)
        t0 = time.monotonic()
        for ms in SCHEDULE_MS:
            delay = t0 + ms / 1000 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            s.send(frame)
            sent.append(time.time_ns())
        s.close()
    except OSError as e:
        sent.append(e)


def announce(netns, ifname, mac):
    """Sends the 5 announce frames from a thread; returns (thread, list of send times)."""
    sent = []
    t = threading.Thread(target=_send_all, args=(netns, ifname, mac, sent), daemon=True)
    t.start()
    return t, sent
