#!/usr/bin/env bash
# Regenerates the captures of pcaps/ and their expected reports (golden files) from a
# build: migprobe-pcapgen writes <name>.pcapng and <name>.truth.json, migprobe-analyze
# writes <name>.expected.{txt,json,csv} for every run listed in golden.list.
#
#   pcaps/update-golden.sh [BUILD_DIR]     (default: build)
#
# A golden file is a claim that the report is right: read the diff against the truth
# files before committing it (git diff pcaps/).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
gen="$build/pcaps/migprobe-pcapgen"
analyze="$build/analysis/migprobe-analyze"
for tool in "$gen" "$analyze"; do
  [ -x "$tool" ] || { echo "update-golden: $tool not built" >&2; exit 1; }
done

"$gen" --out "$here"
cd "$here"
while read -r name capture status args; do
  case "$name" in '' | '#'*) continue ;; esac
  rc=0
  # shellcheck disable=SC2086  # args is a word list on purpose
  "$analyze" "$capture" $args --quiet --text "$name.expected.txt" --json "$name.expected.json" \
    --csv "$name.expected.csv" || rc=$?
  if [ "$rc" != "$status" ]; then
    echo "update-golden: $name: migprobe-analyze exited $rc, golden.list says $status" >&2
    exit 1
  fi
  echo "update-golden: $name"
done < golden.list
