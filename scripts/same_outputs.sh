#!/usr/bin/env bash
# Prove that a restructuring left stekker's outputs unchanged: scan the loopback
# DNS lab once (with the OLD code), then run attribute, report (terminal, CSV,
# JSONL, HTML, one organisation page), export (JSONL, CSV), show and scans with
# the OLD and with this tree's code on two copies of that one database, and
# compare every output byte for byte.  Lines that differ only in the
# knowledge-base version string (a hash of kb/data, which changes whenever a
# rules or provider file changes) and in the report's generation time are
# reported as such, not hidden.
#
#   STEKKER_VENV=/path/venv scripts/same_outputs.sh OLD_REV [NET]
#
# NET is the lab's 127.X net (default 127.121). Needs root, knotd and unbound
# (docs/LAB.md). Exit 0 when nothing else differs; KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: scripts/same_outputs.sh OLD_REV [NET]}
net=${2:-127.121}
py=${STEKKER_VENV:-.venv}/bin/python
work=$(mktemp -d /tmp/stekker-same-XXXXXX)
trap '"$py" -m stekker lab stop --dir "$work/lab" >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$work/oldsrc"
git archive "$old" src | tar -x -C "$work/oldsrc"
run() {  # run CODE(old|new) ARGS...: the old tree wins over the editable install through PYTHONPATH
  local code=$1; shift
  if [ "$code" = old ]; then PYTHONPATH="$work/oldsrc/src" "$py" -m stekker "$@"; else PYTHONPATH="$PWD/src" "$py" -m stekker "$@"; fi
}
[ "$(PYTHONPATH="$work/oldsrc/src" "$py" -c 'import stekker; print(stekker.__file__)')" = "$work/oldsrc/src/stekker/__init__.py" ]
run new lab start --dir "$work/lab" --orgs 300 --seed 3 --net "$net" >/dev/null
export STEKKER_DATA_DIR="$work/data" COLUMNS=120
run old data import "$work/lab/ip2asn-v4.tsv" --version lab >/dev/null
run old scan "$work/lab/input.csv" --resolver "$net.0.53" --db "$work/scan.db" >/dev/null 2>&1
org=$(sed -n 2p "$work/lab/input.csv" | cut -d, -f2)
for code in old new; do
  o="$work/$code"; mkdir -p "$o"; cp "$work/scan.db" "$o/s.db"
  run $code attribute --db "$o/s.db" --as-of 2026-12-01 >"$o/attribute.txt" 2>&1
  run $code report --db "$o/s.db" --as-of 2026-12-01 --lang nl --csv "$o/report.csv" --jsonl "$o/report.jsonl" \
      --html "$o/report.html" >"$o/terminal-nl.txt" 2>&1
  run $code report --db "$o/s.db" --as-of 2026-12-01 --lang en --csv "$o/report-en.csv" >"$o/terminal-en.txt" 2>&1
  run $code report --db "$o/s.db" --as-of 2026-12-01 -q --organisation "$org" --html "$o/org.html" >/dev/null 2>&1
  run $code export --db "$o/s.db" --as-of 2026-12-01 -f jsonl -o "$o/export.jsonl" >/dev/null 2>&1
  run $code export --db "$o/s.db" --as-of 2026-12-01 -f csv -o "$o/export.csv" >/dev/null 2>&1
  run $code show --db "$o/s.db" "$(sed -n 2p "$work/lab/input.csv" | cut -d, -f1)" >"$o/show.txt" 2>&1
  run $code scans --db "$o/s.db" >"$o/scans.txt" 2>&1
  sed -i "s#$o#OUT#g" "$o"/*.txt
done
bad=0
for f in $(cd "$work/new" && ls | grep -v '^s\.db$'); do
  if cmp -s "$work/old/$f" "$work/new/$f"; then echo "identical        $f ($(wc -c <"$work/new/$f") bytes)"; continue; fi
  other=$({ diff "$work/old/$f" "$work/new/$f" || true; } | grep '^[<>]' \
          | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9a-f]{8}/KBV/g; s/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC/NOW/g' \
          | cut -c3- | sort | uniq -u | wc -l)
  n=$({ diff "$work/old/$f" "$work/new/$f" || true; } | grep -c '^<' || true)
  if [ "$other" = 0 ]; then echo "same but KB/time $f ($n lines differ only in the KB version or generation time)"
  else echo "DIFFERENT        $f"; { diff "$work/old/$f" "$work/new/$f" || true; } | head -6; bad=1; fi
done
exit $bad
