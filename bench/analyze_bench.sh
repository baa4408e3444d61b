#!/usr/bin/env bash
# Benchmark (not a test): on one generated capture of at least 10 million packets, the
# packets per second of migprobe-analyze, of a bare libpcap read loop (pcap-read-loop) and
# of tshark finding the same per-flow sequence gaps (tshark fields piped to awk), all in
# one run, with the ratios. Targets: analyze >= 0.5x the bare loop and >= 50x tshark.
#
#   bench/analyze_bench.sh [BUILD_DIR] [FRAMES]     (defaults: build, 10000000)
#
# The capture (~1 GB) goes to a temporary directory ($TMPDIR) and is deleted afterwards.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
frames="${2:-10000000}"
gen="$build/pcaps/migprobe-pcapgen"
analyze="$build/analysis/migprobe-analyze"
loop="$build/bench/pcap-read-loop"
for tool in "$gen" "$analyze" "$loop"; do
  [ -x "$tool" ] || { echo "analyze_bench: $tool not built" >&2; exit 1; }
done
command -v tshark >/dev/null || { echo "analyze_bench: tshark missing (tools/install-deps)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
capture="$work/bench.pcapng"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

echo "generating the bench capture ($frames frames or more) in $work ..."
"$gen" --out "$work" --scenario bench --bench-frames "$frames"
packets="$(awk -F': ' '/"frames"/ { gsub(/[^0-9]/, "", $2); print $2; exit }' "$work/bench.truth.json")"
size="$(stat -c %s "$capture")"
injected="$(grep -c '"first_lost_seq"' "$work/bench.truth.json" || true)"
echo "capture: $packets packets, $((size / 1000000)) MB, $injected injected gaps"

# Warm the page cache so that every reader below reads from memory, not the disk.
cat "$capture" >/dev/null

echo "bare libpcap loop ..."
t0="$(now)"
"$loop" "$capture" >"$work/loop.out"
t1="$(now)"
loop_s="$(elapsed "$t0" "$t1")"

echo "migprobe-analyze ..."
t0="$(now)"
"$analyze" "$capture" --quiet --text "$work/report.txt" --csv "$work/report.csv"
t1="$(now)"
analyze_s="$(elapsed "$t0" "$t1")"
analyze_gaps="$(($(wc -l <"$work/report.csv") - 1))"

# tshark prints, per echo reply and reflector reply, the flow key and its sequence; awk
# finds the gaps per flow as the analyzer does (in arrival order; no reordering here).
echo "tshark | awk ..."
t0="$(now)"
tshark -r "$capture" -n -T fields -E separator=, \
  -Y 'icmp.type == 0 || udp.srcport == 7077' \
  -e ip.src -e icmp.ident -e icmp.seq -e udp.dstport -e udp.payload 2>/dev/null |
  awk -F, '
    function hex(s,   i, n) {
      n = 0
      for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return n
    }
    {
      if ($2 != "") { key = $1 "/icmp/" $2; seq = $3 + 0; mod = 65536 }
      else { key = $1 "/udp/" $4; seq = hex(substr($5, 13, 8)); mod = 4294967296 }
      if (key in last) {
        d = (seq - last[key] + mod) % mod
        if (d == 0 || d >= mod / 2) next   # duplicate or late
        if (d > 1) { gaps++; lost += d - 1 }
      }
      last[key] = seq
    }
    END { printf "%d %d\n", gaps, lost }' >"$work/tshark.out"
t1="$(now)"
tshark_s="$(elapsed "$t0" "$t1")"
read -r tshark_gaps tshark_lost <"$work/tshark.out"

loop_packets="$(awk '{ print $2 }' "$work/loop.out")"
[ "$loop_packets" = "$packets" ] || echo "WARNING: the read loop saw $loop_packets packets" >&2

analyze_pps="$(rate "$packets" "$analyze_s")"
loop_pps="$(rate "$packets" "$loop_s")"
tshark_pps="$(rate "$packets" "$tshark_s")"
vs_loop="$(awk -v a="$analyze_pps" -v b="$loop_pps" 'BEGIN { printf "%.2f", a / b }')"
vs_tshark="$(awk -v a="$analyze_pps" -v b="$tshark_pps" 'BEGIN { printf "%.1f", a / b }')"
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "met" : "MISSED") }'; }

echo
echo "packets                 $packets"
printf '%-22s %10s s %12s packets/s   gaps found\n' "" "time" "rate"
printf '%-22s %10s s %12s packets/s   %s\n' "migprobe-analyze" "$analyze_s" "$analyze_pps" \
  "$analyze_gaps"
printf '%-22s %10s s %12s packets/s   -\n' "libpcap read loop" "$loop_s" "$loop_pps"
printf '%-22s %10s s %12s packets/s   %s\n' "tshark | awk" "$tshark_s" "$tshark_pps" \
  "$tshark_gaps"
echo "injected gaps           $injected"
echo "analyze / bare loop     ${vs_loop}x   (target >= 0.5x: $(verdict "$vs_loop" 0.5))"
echo "analyze / tshark        ${vs_tshark}x   (target >= 50x: $(verdict "$vs_tshark" 50))"
