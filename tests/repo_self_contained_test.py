#!/usr/bin/env python3
"""Fails when a tracked file of the tests, the lab, the tools, CI, the pcaps or the benches,
or any CMakeLists.txt, reaches outside the repository: a fresh clone must run its tests
with nothing beside it (issue 10). The published OpenStack API samples are an opt-in extra,
reached only through $MIGPROBE_API_SAMPLES, which nothing here may give a default.

Each finding is printed as FILE:LINE: why, then the line.
Usage: repo_self_contained_test.py [REPOSITORY]   (default: the one holding this script)
"""

import os
import re
import subprocess
import sys

# Folders whose files are checked (with every CMakeLists.txt wherever it is).
SCOPES = ("tests/", "lab/", "tools/", ".ci/", "pcaps/", "bench/")
SELF = "tests/repo_self_contained_test.py"  # its own patterns would match

# (pattern, why): a line matching the pattern reaches outside the repository.
RULES = [
    (re.compile(r"\.\./+shared\b"), "../shared is a folder beside the repository"),
    (re.compile(r"(?<![\w.-])/work/"), "an absolute path of the development machine"),
    (re.compile(r"\$\{(PROJECT_SOURCE_DIR|CMAKE_SOURCE_DIR)\}/+\.\."),
     "a path above the project's source directory"),
    (re.compile(r"openstack-api-samples"),
     "the published samples by folder name: reach them only through $MIGPROBE_API_SAMPLES"),
    (re.compile(r"""MIGPROBE_API_SAMPLES(["']\s*,|:-|=\$\{|=/|=\.)"""),
     "a default for $MIGPROBE_API_SAMPLES: it is the user's opt-in, with no default"),
]

# A run of "..": "../../.." or "..", "..", ".." (os.path.join's arguments).
SLASH_UPS = re.compile(r"(?<![\w.])((?:\.\.[/\\])+\.\.(?![\w.])|(?:\.\.[/\\])+)")
JOIN_UPS = re.compile(r"""(?:["']\.\.["']\s*,\s*)+["']\.\.["']""")


def tracked_files(root):
    """Tracked files relative to root; every file when root is not a git checkout."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                             capture_output=True).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        found = []
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != ".git" and not d.startswith("build")]
            found += [os.path.relpath(os.path.join(top, f), root) for f in files]
        return found


def in_scope(path):
    return path.startswith(SCOPES) or os.path.basename(path) == "CMakeLists.txt"


def findings(path, text):
    """(line number, [why...], line) for every line of text that reaches outside."""
    # Levels a relative path may climb from the file's own folder and stay inside.
    depth = path.count("/")
    for number, line in enumerate(text.splitlines(), 1):
        whys = [why for pattern, why in RULES if pattern.search(line)]
        ups = [m.group(0).count("..") for m in SLASH_UPS.finditer(line)]
        ups += [m.group(0).count("..") for m in JOIN_UPS.finditer(line)]
        if ups and max(ups) > depth:
            whys.append(f"{max(ups)} levels up from {os.path.dirname(path) or '.'}/ "
                        "is outside the repository")
        if whys:
            yield number, whys, line


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    checked = 0
    bad = 0
    for path in sorted(tracked_files(root)):
        if not in_scope(path) or path == SELF:
            continue
        try:
            with open(os.path.join(root, path), "rb") as f:
                raw = f.read()
        except OSError:
            continue  # tracked but deleted in the work tree
        if b"\0" in raw:
            continue  # binary (captures)
        checked += 1
        for number, whys, line in findings(path, raw.decode("utf-8", errors="replace")):
            print(f"{path}:{number}: {'; '.join(whys)}\n    {line.strip()}")
            bad += 1
    if bad:
        print(f"{bad} line(s) reach outside the repository ({checked} files checked in {root})")
        return 1
    print(f"{checked} files checked in {root}: nothing reaches outside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
