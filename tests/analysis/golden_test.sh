#!/usr/bin/env bash
# Golden test of one scenario: runs migprobe-analyze as pcaps/golden.list says (from
# pcaps/, so paths in the report are the committed ones) and compares its text, JSON and
# CSV reports with pcaps/NAME.expected.{txt,json,csv}. After a deliberate change of the
# reports, regenerate them with pcaps/update-golden.sh and review the diff.
#   golden_test.sh MIGPROBE_ANALYZE PCAPS_DIR NAME
set -euo pipefail
analyze="$1"
pcaps="$2"
want="$3"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

cd "$pcaps"
while read -r name capture status args; do
  [ "$name" = "$want" ] || continue
  rc=0
  # shellcheck disable=SC2086  # args is a word list on purpose
  "$analyze" "$capture" $args --quiet --text "$out/report.txt" --json "$out/report.json" \
    --csv "$out/report.csv" || rc=$?
  if [ "$rc" != "$status" ]; then
    echo "FAIL: migprobe-analyze $capture exited $rc, expected $status" >&2
    exit 1
  fi
  failed=0
  for ext in txt json csv; do
    if ! diff -u "$name.expected.$ext" "$out/report.$ext"; then
      echo "FAIL: $name.expected.$ext differs (above: - expected, + got)" >&2
      failed=1
    fi
  done
  exit "$failed"
done < golden.list
echo "FAIL: $want is not in golden.list" >&2
exit 1
