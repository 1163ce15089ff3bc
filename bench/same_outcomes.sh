#!/usr/bin/env bash
# Do the files that imported before import the same now? Dry-runs every fixture in tests/imports/files with the CLI
# on this checkout and on REV (a temporary git worktree), each on its own fresh SQLite database, and prints any
# fixture whose status, error or counts differ.   Usage: bench/same_outcomes.sh REV
set -u  # no -e: a file our CLI refuses prints an error line, which is an outcome to compare
rev=${1:?usage: bench/same_outcomes.sh REV}
here=$(cd "$(dirname "$0")/.." && pwd)
py="$here/.venv/bin/python"
work=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$here" worktree add -q "$work/old" "$rev" || exit 1

run() {  # tree, file → the JSON summary without the job id and timings, or the error line
  (cd "$1" && DATABASE_URL="sqlite:///$work/$(basename "$1").sqlite3" DEBUG=1 MEDIA_ROOT="$work/media" \
    "$py" manage.py import_customers "$2" --dry-run --json 2>&1 | grep -E '^\{|Error' | tail -1 |
    sed -E 's/"job": [0-9]+, //; s/, "seconds": .*\}/}/; s/\(job [0-9]+\)//')
}

for tree in "$work/old" "$here"; do
  (cd "$tree" && DATABASE_URL="sqlite:///$work/$(basename "$tree").sqlite3" DEBUG=1 "$py" manage.py migrate -v0)
done
same=0 different=0
for file in "$here"/tests/imports/files/*; do
  old=$(run "$work/old" "$file") new=$(run "$here" "$file")
  if [ "$old" = "$new" ]; then same=$((same + 1)); else
    different=$((different + 1)); printf 'DIFF %s\n  %s: %s\n  now: %s\n' "$(basename "$file")" "$rev" "$old" "$new"
  fi
done
echo "same outcome: $same files; different: $different"
