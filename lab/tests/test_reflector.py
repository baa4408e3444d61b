"""migprobe-reflector (from the C++ build) runs in every guest when the lab is given its
path, and answers a migprobe UDP probe on port 7077 with the "mr" magic."""

import os
import struct
import subprocess
import unittest

from labtest import LAB_DIR, LabTestCase, qemu_available

REFLECTOR = os.path.join(os.path.dirname(LAB_DIR), "build", "dataplane", "migprobe-reflector")

# Sends one probe (trailer: magic "mp", version 1 | generation 0 | flow 5, seq 1, TX time)
# from the kernel-probe namespace and prints the reply's first bytes in hex.
PROBE = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
payload = struct.pack("!HIIQ", 0x6d70, (1 << 28) | 5, 1, time.time_ns())
for _ in range(20):
    s.sendto(payload, (sys.argv[1], 7077))
    try:
        print(s.recv(2048).hex()); break
    except socket.timeout:
        pass
"""


@unittest.skipUnless(os.access(REFLECTOR, os.X_OK), f"{REFLECTOR} not built")
class ReflectorTest(LabTestCase):
    def probe(self, ip):
        cp = subprocess.run(["ip", "netns", "exec", "mp-kprobe", "/usr/bin/python3", "-c", PROBE,
                             ip], capture_output=True, text=True, timeout=30)
        return cp.stdout.strip()

    def check_mode(self, mode):
        self.lab("up", "--mode", mode, "--guests", "1", "--kernel-probe", "--reflector", REFLECTOR)
        reply = self.probe("10.77.0.11")
        self.assertTrue(reply.startswith("6d72"), f"no reflector reply ({mode}): {reply!r}")
        self.assertEqual(len(bytes.fromhex(reply)), 18 + 4)
        self.assertEqual(struct.unpack("!I", bytes.fromhex(reply)[18:22])[0], 1)
        self.lab("down")
        self.assertNothingLeft()

    def test_netns(self):
        self.check_mode("netns")

    @unittest.skipUnless(qemu_available(), "qemu-system-x86_64 not installed")
    def test_qemu(self):
        self.check_mode("qemu")


if __name__ == "__main__":
    unittest.main()
