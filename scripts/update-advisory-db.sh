#!/usr/bin/env bash
# Re-makes .ci/advisory-db.tar.gz, the RustSec advisory database snapshot that the dependencies
# gate (.ci/deny.sh) checks against offline, from a folder holding a copy of the database.
#
#   scripts/update-advisory-db.sh DIR
#
# DIR is a checkout or a data-only copy of the RustSec advisory database (it has `crates/`).
# Its `SNAPSHOT` file names the commit and its date, e.g.
#   RustSec advisory database, snapshot of commit <40 hex> (YYYY-MM-DD), data only ...
# If DIR is a git checkout without SNAPSHOT, one is written into the tarball from `git log`.
# The tarball is reproducible (sorted names, fixed owner, times and gzip header): re-running on
# the same folder gives the same bytes. Review and commit the new tarball; docs/ci.md says more.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR   (a copy of the RustSec advisory database, with crates/ and SNAPSHOT)" >&2
    exit 2
fi
src=$1
out=.ci/advisory-db.tar.gz

if [ ! -d "$src/crates" ]; then
    echo "error: '$src' has no crates/ folder: is it the RustSec advisory database?" >&2
    exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/advisory-db"
# Data only: no .git, no CI or tooling files of the upstream repository.
for item in crates rust LICENSE.txt SNAPSHOT; do
    if [ -e "$src/$item" ]; then
        cp -R "$src/$item" "$stage/advisory-db/"
    fi
done
chmod -R u+w,go-w "$stage/advisory-db"

if [ ! -f "$stage/advisory-db/SNAPSHOT" ]; then
    if git -C "$src" rev-parse HEAD >/dev/null 2>&1; then
        commit=$(git -C "$src" log -1 --format=%H)
        day=$(git -C "$src" log -1 --format=%cs)
        echo "RustSec advisory database, snapshot of commit $commit ($day), data only (CC0-1.0, see LICENSE.txt)." \
            >"$stage/advisory-db/SNAPSHOT"
    else
        echo "error: '$src' has no SNAPSHOT file and is not a git checkout: cannot tell its date" >&2
        exit 1
    fi
fi

snapshot=$(cat "$stage/advisory-db/SNAPSHOT")
day=$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$stage/advisory-db/SNAPSHOT" | head -n 1 || true)
if [ -z "$day" ]; then
    echo "error: SNAPSHOT names no date (YYYY-MM-DD): $snapshot" >&2
    exit 1
fi

files=$(find "$stage/advisory-db/crates" -name '*.md' | wc -l)
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="$day 00:00:00 UTC" \
    -cf - advisory-db | gzip -9n >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c <"$out") bytes, $files crate advisories): $snapshot"
