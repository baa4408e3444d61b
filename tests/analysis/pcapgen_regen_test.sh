#!/usr/bin/env bash
# Regeneration test: migprobe-pcapgen, run again, must give the committed files of pcaps/
# byte for byte, and every committed capture, truth file and journal must come from it.
#   pcapgen_regen_test.sh MIGPROBE_PCAPGEN PCAPS_DIR
set -euo pipefail
gen="$1"
pcaps="$2"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

"$gen" --out "$out"
status=0
for f in "$out"/*; do
  name="$(basename "$f")"
  if [ ! -f "$pcaps/$name" ]; then
    echo "FAIL: $name is generated but not committed in pcaps/" >&2
    status=1
  elif ! cmp -s "$f" "$pcaps/$name"; then
    echo "FAIL: $name differs from the committed pcaps/$name:" >&2
    cmp "$f" "$pcaps/$name" >&2 || true
    status=1
  fi
done
for f in "$pcaps"/*.pcapng "$pcaps"/*.pcap "$pcaps"/*.truth.json "$pcaps"/*.journal; do
  [ -e "$f" ] || continue
  if [ ! -f "$out/$(basename "$f")" ]; then
    echo "FAIL: pcaps/$(basename "$f") is committed but migprobe-pcapgen does not make it" >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "pcapgen: $(ls "$out" | wc -l) files identical to pcaps/"
exit "$status"
