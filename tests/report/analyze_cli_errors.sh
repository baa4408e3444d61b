#!/usr/bin/env bash
# migprobe-analyze on bad input: each case must fail with its exit status and a message
# that names the input and what was wrong; a truncated capture still gets its report.
set -uo pipefail
analyze=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
expect() {  # expect NAME STATUS PATTERN -- command...
  local name=$1 status=$2 pattern=$3
  shift 4
  "$@" >"$dir/out" 2>"$dir/err"
  local rc=$?
  if [ "$rc" != "$status" ] || ! grep -q -- "$pattern" "$dir/err"; then
    echo "FAIL $name: exit $rc (want $status), stderr:"; cat "$dir/err"; fail=1
  else
    echo "ok   $name: $(head -1 "$dir/err")"
  fi
}

expect missing-file 2 "cannot read capture $dir/none.pcap: No such file" -- "$analyze" "$dir/none.pcap"
expect no-argument 1 "no CAPTURE" -- "$analyze"
expect bad-duration 1 "not a duration" -- "$analyze" x --reply-timeout 5parsecs

# A classic pcap header with link type 105 (802.11): not a link type migprobe decodes.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x69\x00\x00\x00' >"$dir/wifi.pcap"
expect link-type 2 "unsupported link type 105" -- "$analyze" "$dir/wifi.pcap"

# Three valid frames (60-byte Ethernet, nanosecond pcap), then a record cut short.
{
  printf '\x4d\x3c\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00'
  for i in 1 2 3; do
    printf '\x01\x00\x00\x00\x00\x00\x00\x00\x3c\x00\x00\x00\x3c\x00\x00\x00'
    head -c 60 /dev/zero
  done
  printf '\x01\x00\x00\x00\x00\x00\x00\x00\x3c\x00\x00\x00\x3c\x00\x00\x00'
  head -c 20 /dev/zero
} >"$dir/cut.pcap"
expect truncated 3 "stopped after frame 3, whose record ends at byte 252" -- "$analyze" "$dir/cut.pcap" --json "$dir/cut.json"
if ! grep -q '"packets": "3"' "$dir/cut.json" || ! grep -q 'truncated' "$dir/cut.json"; then
  echo "FAIL truncated: the report of the frames read was not written"; fail=1
fi

# A journal whose header says format version 9.
printf '\x04\x0a\x02\x08\x09' >"$dir/v9.journal"
expect journal-version 2 "format version 9, this migprobe reads version 1" -- \
  "$analyze" "$dir/cut.pcap" --journal "$dir/v9.journal"
exit $fail
