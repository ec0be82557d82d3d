#!/usr/bin/env bash
# Write what a stored scan gives through every output that shows verdicts or
# attributions, so two versions of stekker can be compared with `diff -r`
# (issue 10: the restructuring must leave these byte-identical).
#
#   scripts/same_outputs.sh DB OUTDIR      # DB: a SQLite file (or postgresql:// URL)
#
# Run it with the version before a change and after, on the same database, then
#   diff -r BEFORE_DIR AFTER_DIR
# The scan must already have stored attributions (`stekker attribute`); nothing
# here re-attributes or asks DNS. Uses `stekker` from $STEKKER_BIN (a venv's bin/)
# or PATH. The --as-of date is fixed so the outputs do not depend on today's date;
# what still depends on time is named in the notes (stale-data warnings of the
# installed reference data, which age with the clock).
set -euo pipefail
db=${1:?usage: same_outputs.sh DB OUTDIR}
out=${2:?usage: same_outputs.sh DB OUTDIR}
bin=${STEKKER_BIN:-}
st=${bin:+$bin/}stekker
mkdir -p "$out"
asof=2026-12-01
export COLUMNS=200 NO_COLOR=1 TERM=dumb
# without --as-of: the stored attributions (ownership as of the day the scan ran)
"$st" export --db "$db" --scan latest --format jsonl -o "$out/export-scanday.jsonl" --force
"$st" export --db "$db" --scan latest --format jsonl -o "$out/export.jsonl" --as-of "$asof" --force
"$st" export --db "$db" --scan latest --format jsonl --no-evidence -o "$out/export-noev.jsonl" --as-of "$asof" --force
"$st" export --db "$db" --scan latest --format csv -o "$out/export.csv" --force
"$st" report --db "$db" --scan latest --as-of "$asof" --csv "$out/report.csv" \
    --jsonl "$out/report.jsonl" > "$out/report.txt"
"$st" report --db "$db" --scan latest --as-of "$asof" --lang nl --csv "$out/report-nl.csv" --csv-sep ';' \
    > "$out/report-nl.txt"
# one organisation page (terminal)
org=$("$st" export --db "$db" --scan latest --format jsonl --no-evidence --no-attribution \
      | python3 -c 'import json,sys
for l in sys.stdin:
    o=json.loads(l).get("organisation")
    if o: print(o); break')
if [ -n "$org" ]; then
    "$st" report --db "$db" --scan latest --as-of "$asof" --organisation "$org" > "$out/organisation.txt"
fi
ls -l "$out"
