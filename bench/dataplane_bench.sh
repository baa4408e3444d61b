#!/usr/bin/env bash
# Dataplane benchmark (not a test): TX probes/s on one core into net_null against
# dpdk-testpmd txonly on the same vdev; RX processing rate of replies with 10, 1,000 and
# 100,000 flows replayed through net_pcap; memory per flow. Prints the figures and ratios.
# usage: bench/dataplane_bench.sh [BUILD_DIR]   (root; uses --no-huge, leaves nothing behind)
set -euo pipefail
build=$(realpath "${1:-build}")
dp="$build/dataplane/migprobe-dp"
work=$(mktemp -d /tmp/mpt-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
eal=(--no-huge -m 512 --lcores 0@0,1@1,2@0 --log-level=error --file-prefix "mptbench$$")
secs=3

echo "== TX: 16 flows x 1 Mpps of 64-byte ICMP probes into net_null0, ${secs} s, idle sleep off"
targets=()
for i in $(seq 1 16); do targets+=(--target "10.0.0.$i,mac=02:00:00:00:00:01,icmp=1M"); done
"$dp" "${eal[@]}" --vdev net_null0 -- --port net_null0 --probe-ip 10.0.0.254 --idle-sleep off \
  --max-flows 64 --duration-s "$secs" --stats "$work/tx.json" --quiet "${targets[@]}" 2>/dev/null
tx_pps=$(/usr/bin/python3 -c "
import json; s=json.load(open('$work/tx.json'))
c={x['name']:int(x['value']) for x in s['tx']}
el=(int(s['taken_ns'])-int(s['run_started_ns']))/1e9
print(f\"{c['probes_sent']/el:.0f} {c['skipped_slots']}\")")
echo "migprobe-dp TX: ${tx_pps% *} probes/s (skipped slots ${tx_pps#* })"

echo "== testpmd txonly on net_null0, one forwarding core, ${secs} s"
tp=$( (sleep "$secs"; echo stop; echo quit) | timeout $((secs + 20)) dpdk-testpmd --no-huge -m 512 \
  --lcores 0@0,1@1 --log-level=error --file-prefix "mptbenchtp$$" --vdev net_null0 -- \
  -i --forward-mode=txonly --txpkts=64 --total-num-mbufs=16384 --auto-start 2>/dev/null | { grep -E "TX-packets:" || true; } | tail -1 |
  awk '{print $2}')
tp_pps=$(( ${tp:-0} / secs ))
echo "testpmd txonly: ${tp_pps} pkt/s"
/usr/bin/python3 -c "
tx=${tx_pps% *}; tp=${tp_pps}
print(f'TX ratio migprobe-dp / testpmd: {tx/tp:.2f}' if tp else 'testpmd figure missing')
print(f'TX vs 10GbE line rate (14.88 Mpps): {tx/14.88e6:.2f}')"

echo "== RX: replies replayed through net_pcap (rx_pcap, from memory via page cache)"
/usr/bin/python3 - "$work" <<'PY'
import struct, sys
work = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack(f"!{len(b)//2}H", b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def reply(flow, seq, tx):
    trailer = struct.pack("!HIIQ", 0x6d70, (1 << 28) | (1 << 20) | flow, seq, tx)
    icmp = struct.pack("!BBHHH", 0, 0, 0, flow & 0xffff, seq & 0xffff) + trailer
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    src = 0x0a000000 | (2 + flow % 60000)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1, 0,
                     struct.pack("!I", src), bytes([10, 0, 0, 1]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + icmp
total = 1_000_000
for flows in (10, 1000, 100000):
    with open(f"{work}/rx{flows}.pcap", "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
        per = total // flows
        t0 = 1_795_000_000_000_000_000
        for seq in range(per):
            for fl in range(flows):
                tx = t0 + seq * 1_000_000 + fl
                frame = reply(fl, seq, tx)
                ts = tx + 20_000
                f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(frame), len(frame)) + frame)
PY
declare -A rx_rate
for flows in 10 1000 100000; do
  # The replay learns flows (and requests) from the file: with no requests, replies alone.
  start=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$work/rss$flows" "$dp" "${eal[@]}" \
    --vdev "net_pcap0,rx_pcap=$work/rx$flows.pcap" -- --port net_pcap0 --probe-ip 10.0.0.1 \
    --replay --rx-timestamp port --idle-sleep off --max-flows 131072 --mbufs 65535 \
    --exit-after-idle-ms 200 --stats "$work/rx$flows.json" --quiet 2>/dev/null
  end=$(date +%s%N)
  rx_rate[$flows]=$(/usr/bin/python3 -c "
import json; s=json.load(open('$work/rx$flows.json'))
c={x['name']:int(x['value']) for x in s['rx']}
print(c['replies'], c['packets'])")
  echo "flows $flows: replies ${rx_rate[$flows]% *} of ${rx_rate[$flows]#* } frames; process wall $(( (end - start) / 1000000 )) ms, max RSS $(cat "$work/rss$flows") kB"
done
echo "RX rate includes libpcap file reading in net_pcap; compare the three rows for the per-flow-count cost."
