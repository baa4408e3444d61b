#!/usr/bin/env bash
# migprobe-analyze --journal JOURNAL without a capture: the report of the run from its
# journal alone (how "the journal replays to the same report" is checked), in every format.
#   analyze_journal_only.sh MIGPROBE_ANALYZE PCAPS_DIR
set -uo pipefail
analyze=$1
pcaps=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
check() {  # check NAME FILE PATTERN
  if grep -q -- "$3" "$2"; then echo "ok   $1"; else echo "FAIL $1: no '$3' in $2:"; cat "$2"; fail=1; fi
}

"$analyze" --journal "$pcaps/migrations.journal" --settle 10ms --out-dir "$dir" 2>"$dir/err"
rc=$?
[ "$rc" = 0 ] || { echo "FAIL journal-only: exit $rc"; cat "$dir/err"; fail=1; }
check source "$dir/report.txt" "journal   $pcaps/migrations.journal (10 records"
check origin "$dir/report.txt" "times are relative to the start of the run"
check no-measurements "$dir/report.txt" "the journal holds no probe measurement"
check migrations "$dir/report.txt" "migrations: 6 (completed 6, failed or aborted 0, success rate 100.0%)"
check nova-id "$dir/report.txt" "nova migration 132"
check json "$dir/report.json" '"generator": "migprobe-control"'
check json-format "$dir/report.json" '"format": "journal"'
check csv "$dir/report.csv" "hypervisor_downtime_ms,hypervisor_pause_ns,coverage_lost,neighbour_migration_number,tcp_verdict,tcp_stall_ns,tcp_retransmits,tcp_bytes_lost$"

"$analyze" --help >"$dir/help"
check help "$dir/help" "migprobe-analyze \[options\] --journal JOURNAL"

"$analyze" --journal "$dir/missing.journal" >/dev/null 2>"$dir/err"
rc=$?
[ "$rc" = 2 ] || { echo "FAIL missing journal: exit $rc (want 2)"; fail=1; }
check missing-journal "$dir/err" "cannot open journal $dir/missing.journal"
exit $fail
