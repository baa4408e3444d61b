"""The ground-truth journal: one JSON object per migration, one per line.

File: state_dir/ground-truth.jsonl. Times are integer ns since the Unix epoch on
CLOCK_REALTIME (fields ending in _ns); every record carries "format_version": 1.
"""

import fcntl
import json

from . import state

FORMAT_VERSION = 1


def journal_path():
    return state.path("ground-truth.jsonl")


def append(record):
    record = {"format_version": FORMAT_VERSION, **record}
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(journal_path(), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line)
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)
    return record


def read_all(path=None):
    try:
        with open(path or journal_path()) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
