"""The guest image: Debian's kernel (not installed, just unpacked) + a busybox initramfs.

Built at setup time and cached under config.cache_dir(); rebuilt only when an input
changes (kernel package version, busybox, the init script, the load program, the
reflector binary). Nothing here touches /boot or installs a package.
"""

import glob
import gzip
import hashlib
import io
import lzma
import os
import shutil
import subprocess
import tempfile

from . import config
from .proc import LabError, run

VIRTIO_MODULES = ("virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
                  "virtio_pci", "failover", "net_failover", "virtio_net")
BUSYBOX = "/bin/busybox"


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _kernel_package():
    """The versioned kernel package that linux-image-amd64 points to (e.g. linux-image-6.1.0-56-amd64)."""
    cp = run(["apt-cache", "depends", "linux-image-amd64"], check=False)
    for line in cp.stdout.splitlines():
        line = line.strip()
        if line.startswith("Depends:") and "linux-image-" in line:
            return line.split()[1]
    return None


def ensure_kernel(cache):
    """Returns (vmlinuz, modules_dir) of the cached kernel, downloading it if needed."""
    pkg = os.environ.get("MIGPROBE_LAB_KERNEL") or _kernel_package()
    if pkg is None:
        cached = sorted(glob.glob(os.path.join(cache, "kernel", "linux-image-*", "vmlinuz")))
        if not cached:
            raise LabError("cannot resolve linux-image-amd64 (apt-get update?) and no kernel is "
                           f"cached under {cache}/kernel")
        pkg = os.path.basename(os.path.dirname(cached[-1]))
    kdir = os.path.join(cache, "kernel", pkg)
    vmlinuz = os.path.join(kdir, "vmlinuz")
    moddir = os.path.join(kdir, "modules")
    if os.path.exists(vmlinuz) and all(os.path.exists(os.path.join(moddir, m + ".ko"))
                                       for m in VIRTIO_MODULES):
        return vmlinuz, moddir
    os.makedirs(kdir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=kdir) as tmp:
        # apt-get download writes into the current directory (a warning that _apt cannot
        # write there is expected: it then downloads as root).
        cp = subprocess.run(["apt-get", "download", "-q", pkg], cwd=tmp, capture_output=True,
                            text=True, timeout=600)
        if cp.returncode != 0:
            raise LabError(f"apt-get download {pkg} failed: {cp.stderr.strip()}")
        debs = glob.glob(os.path.join(tmp, "*.deb"))
        if not debs:
            raise LabError(f"apt-get download {pkg} produced no .deb (network? apt-get update?)")
        unpack = os.path.join(tmp, "x")
        run(["dpkg-deb", "-x", debs[0], unpack], timeout=600)
        found = glob.glob(os.path.join(unpack, "boot", "vmlinuz-*"))
        if not found:
            raise LabError(f"{debs[0]} has no /boot/vmlinuz-*")
        os.makedirs(moddir + ".new", exist_ok=True)
        for m in VIRTIO_MODULES:
            hits = glob.glob(os.path.join(unpack, "lib", "modules", "*", "kernel", "**", m + ".ko"),
                             recursive=True)
            if not hits:
                raise LabError(f"module {m}.ko not found in {debs[0]}")
            shutil.copy(hits[0], os.path.join(moddir + ".new", m + ".ko"))
        shutil.rmtree(moddir, ignore_errors=True)
        os.rename(moddir + ".new", moddir)
        shutil.copy(found[0], vmlinuz + ".new")
        os.rename(vmlinuz + ".new", vmlinuz)
    return vmlinuz, moddir


def ensure_vmlinux(vmlinuz):
    """The uncompressed ELF kernel next to vmlinuz, for QEMU's PVH direct boot.

    Under TCG, decompressing Debian's xz bzImage costs about 7 s per boot; QEMU loads
    an ELF vmlinux with a PVH note directly (Debian builds CONFIG_PVH=y).
    """
    out = os.path.join(os.path.dirname(vmlinuz), "vmlinux")
    if os.path.exists(out):
        return out
    with open(vmlinuz, "rb") as f:
        data = f.read()
    off = data.find(b"\xfd7zXZ\x00")
    if off < 0:
        return None
    try:
        elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[off:])
    except lzma.LZMAError:
        return None
    if not elf.startswith(b"\x7fELF"):
        return None
    with open(out + ".new", "wb") as f:
        f.write(elf)
    os.rename(out + ".new", out)
    return out


def ensure_dirty_program(cache):
    """The static load program: the CMake build's output if present, else built here."""
    src = os.path.join(config.lab_dir(), "guest", "dirty.cc")
    root = os.path.dirname(config.lab_dir())
    built = os.path.join(root, "build", "lab", "migprobe-lab-dirty")
    if os.path.exists(built) and os.path.getmtime(built) >= os.path.getmtime(src):
        return built
    out = os.path.join(cache, "bin", "migprobe-lab-dirty-" + _sha(src)[:16])
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        run(["g++", "-std=c++20", "-O2", "-static", "-o", out + ".new", src], timeout=300)
        os.rename(out + ".new", out)
    return out


class _Cpio:
    """A minimal newc cpio writer (what the kernel unpacks as an initramfs)."""

    def __init__(self):
        self._buf = io.BytesIO()
        self._ino = 1

    def _entry(self, name, mode, data=b"", nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        self._ino += 1
        self._buf.write(hdr.encode() + name_b)
        self._buf.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        self._buf.write(data)
        self._buf.write(b"\0" * ((4 - len(data) % 4) % 4))

    def dir(self, name):
        self._entry(name, 0o040755, nlink=2)

    def file(self, name, path, mode=0o100755):
        with open(path, "rb") as f:
            self._entry(name, mode, f.read())

    def symlink(self, name, target):
        self._entry(name, 0o120777, target.encode())

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return self._buf.getvalue()


def ensure_image(reflector=None):
    """Returns {"kernel", "initrd", "key"}; builds and caches whatever is missing."""
    cache = config.cache_dir()
    os.makedirs(cache, exist_ok=True)
    if not os.path.exists(BUSYBOX):
        raise LabError(f"{BUSYBOX} missing (Debian package busybox-static; run tools/install-deps)")
    vmlinuz, moddir = ensure_kernel(cache)
    dirty = ensure_dirty_program(cache)
    gdir = os.path.join(config.lab_dir(), "guest")
    inputs = [("kernel", vmlinuz), ("busybox", BUSYBOX), ("init", os.path.join(gdir, "init")),
              ("discard", os.path.join(gdir, "discard")), ("dirty", dirty)]
    inputs += [("mod-" + m, os.path.join(moddir, m + ".ko")) for m in VIRTIO_MODULES]
    if reflector:
        if not os.access(reflector, os.X_OK):
            raise LabError(f"--reflector {reflector}: not an executable file")
        inputs.append(("reflector", reflector))
    key = hashlib.sha256("".join(f"{n}={_sha(p)};" for n, p in inputs).encode()).hexdigest()[:16]
    initrd = os.path.join(cache, "initrd", f"initrd-{key}.gz")
    if not os.path.exists(initrd):
        c = _Cpio()
        for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "run", "lib", "lib/modules", "etc"):
            c.dir(d)
        c.file("init", os.path.join(gdir, "init"))
        c.file("bin/busybox", BUSYBOX)
        c.symlink("bin/sh", "busybox")
        c.file("bin/discard", os.path.join(gdir, "discard"))
        c.file("bin/migprobe-lab-dirty", dirty)
        if reflector:
            c.file("bin/migprobe-reflector", reflector)
        for m in VIRTIO_MODULES:
            c.file(f"lib/modules/{m}.ko", os.path.join(moddir, m + ".ko"), 0o100644)
        os.makedirs(os.path.dirname(initrd), exist_ok=True)
        with open(initrd + ".new", "wb") as f:
            f.write(gzip.compress(c.finish(), compresslevel=1))
        os.rename(initrd + ".new", initrd)
    vmlinux = ensure_vmlinux(vmlinuz)
    return {"kernel": vmlinux or vmlinuz, "initrd": initrd, "key": key}
