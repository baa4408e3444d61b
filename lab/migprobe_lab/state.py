"""The lab's state file (lab.json) under the state dir, and the lock that guards it.

Several processes share the lab (the CLI, the lab cloud, tests): every change to
lab.json happens under an exclusive flock on state_dir/lock.
"""

import contextlib
import fcntl
import json
import os

from . import config

FORMAT_VERSION = 1


def path(*parts):
    return os.path.join(config.state_dir(), *parts)


@contextlib.contextmanager
def locked():
    os.makedirs(config.state_dir(), exist_ok=True)
    with open(path("lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load():
    """The lab description, or None if no lab is up."""
    try:
        with open(path("lab.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def save(lab):
    lab["format_version"] = FORMAT_VERSION
    tmp = path("lab.json.new")
    with open(tmp, "w") as f:
        json.dump(lab, f, indent=2, sort_keys=True)
    os.replace(tmp, path("lab.json"))


@contextlib.contextmanager
def guest_lock(name, blocking=False):
    """One migration per guest at a time, across processes. Yields False if busy."""
    os.makedirs(path("guests", name), exist_ok=True)
    with open(path("guests", name, "migration.lock"), "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
