"""Unprivileged Linux namespaces for the sandbox: a user namespace where we are root, a
network namespace with only ``lo``, a mount namespace where Milvus's stray files land in
the data dir, and a PID namespace that dies with the sandbox."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import socket
import struct
import sys
from pathlib import Path

_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x2, 0x4, 0x8
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 1
PR_SET_PDEATHSIG = 1
TEST_HOOK_DENY_USERNS = "WORDSIM_TEST_HOOK_DENY_USERNS"
"""A test hook, not a setting: ``1`` makes the user namespace fail here the way a host that
restricts them makes it fail, so the tests can run the fallback (``protection``) anywhere."""


def libc_call(name: str, *args: object) -> None:
    """Call a libc function that returns 0 on success; raise OSError otherwise."""
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def enter_namespaces(data_dir: Path) -> None:
    """Become root of new user/net/mount/PID namespaces (single-threaded only), bring ``lo``
    up, and bind ``<data dir>/sandbox/{tmp,run}`` over /tmp and /run/milvus (or /run)."""
    uid, gid = os.getuid(), os.getgid()
    libc_call("unshare", _CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWNS | _CLONE_NEWPID)
    if os.environ.get(TEST_HOOK_DENY_USERNS) == "1":
        # What Ubuntu 23.10+'s AppArmor restriction does: unshare succeeds, mapping our uid fails.
        raise PermissionError(
            errno.EPERM, f"write /proc/self/uid_map: Operation not permitted ({TEST_HOOK_DENY_USERNS})"
        )
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        Path(f"/proc/self/{name}").write_text(text)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # what `ip link set lo up` does
        flags = struct.unpack("16sH", fcntl.ioctl(s, _SIOCGIFFLAGS, struct.pack("16sH22x", b"lo", 0))[:18])[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))
    libc_call("mount", None, b"/", None, _MS_REC | _MS_PRIVATE, None)
    for target, name in (("/tmp", "tmp"), ("/run/milvus" if os.path.isdir("/run/milvus") else "/run", "run")):
        target = os.path.realpath(target)
        if os.path.isdir(target):
            _cover(target, data_dir / "sandbox" / name, data_dir)


def _cover(target: str, replacement: Path, data_dir: Path) -> None:
    """Bind ``replacement`` over ``target``, then bind back what we still need from under it:
    the data dir, this project and its Python (a clone in /tmp must keep its venv)."""
    project = Path(__file__).resolve().parents[2]
    needed = [data_dir, Path.cwd(), project, Path(sys.prefix), Path(sys.base_prefix)]
    needed += [Path(p) for p in sys.path if p]
    roots = set()
    for path in needed:
        path = Path(os.path.realpath(path))
        if path.is_relative_to(target) and path != Path(target):
            roots.add(Path(target) / path.relative_to(target).parts[0])
    keep = {root: os.open(root, os.O_PATH) for root in roots if root.exists()}
    replacement.mkdir(parents=True, exist_ok=True)
    libc_call("mount", bytes(replacement), target.encode(), None, _MS_BIND, None)
    for root, fd in keep.items():
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            root.mkdir(exist_ok=True)
        else:
            root.touch()
        libc_call("mount", f"/proc/self/fd/{fd}".encode(), bytes(root), None, _MS_BIND, None)
        os.close(fd)


def mount_own_proc() -> None:
    """Give this PID namespace a /proc of its own. Milvus's query node reads its memory use
    from /proc/<its pid>; through the host's /proc that pid is another process (kthreadd:
    0 bytes), and every sealed segment is refused with "get memory failed when
    checkSegmentSize", so a collection never finishes loading. A mount namespace of its own
    keeps the relay outside seeing the host's /proc."""
    libc_call("unshare", _CLONE_NEWNS)
    libc_call("mount", None, b"/", None, _MS_REC | _MS_PRIVATE, None)
    libc_call("mount", b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)
