#!/usr/bin/env bash
# Extract the sample reports and the shared corpus with this checkout and compare
# with snapshots taken before a change that must not change behaviour:
#   scripts/check_same.sh snapshot DIR   # before the change: DIR/raw.jsonl, DIR/corpus.jsonl
#   scripts/check_same.sh compare DIR    # after it
set -euo pipefail
cd "$(dirname "$0")/.."
mode=$1; dir=$2; py=${PYTHON:-.venv/bin/python}
mkdir -p "$dir"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
status=0
for pair in "raw:raw" "corpus:../shared/corpus/raw"; do
    name=${pair%%:*}; raw=${pair#*:}
    [ -d "$raw" ] || { echo "skip $name: no $raw"; continue; }
    "$py" flows.py --raw "$raw" --output "$tmp/$name" > "$tmp/$name.log" 2>&1 || { tail -5 "$tmp/$name.log"; exit 1; }
    if [ "$mode" = snapshot ]; then
        "$py" scripts/same_output.py snapshot "$tmp/$name" "$dir/$name.jsonl" --ignore-column rules_version
    else
        "$py" scripts/same_output.py snapshot "$tmp/$name" "$tmp/$name.jsonl" --ignore-column rules_version
        echo "== $name"; "$py" scripts/same_output.py compare "$dir/$name.jsonl" "$tmp/$name.jsonl" || status=1
    fi
done
exit $status
