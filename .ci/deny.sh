#!/usr/bin/env bash
# Dependencies gate: cargo-deny (crates.io, pinned) checks licences, bans (duplicate versions are
# reported, not failing), sources (crates.io only) and RustSec advisories, as configured in
# deny.toml. The advisories check runs offline, against the snapshot of the advisory database
# vendored in .ci/advisory-db.tar.gz (or the folder named by $ASSAY_ADVISORY_DB), which this
# script lays out as the git repository cargo-deny expects under target/deny/. A finding that is
# neither fixed nor accepted in deny.toml (with a reason) fails CI. See docs/ci.md.
#
#   .ci/deny.sh                      all four checks
#   .ci/deny.sh advisories sources   only those (any of: advisories bans licenses sources)
#   .ci/deny.sh --install-only       install cargo-deny, check nothing (CI's background queue)
set -euo pipefail
cd "$(dirname "$0")/.."

DENY_VERSION=0.20.2
# Warn (do not fail) when the snapshot is older than this many days.
STALE_DAYS=90
# cargo-deny looks for the database of each URL in `db-path`/<last URL segment>-<xxh64 of the
# lowercased URL, seed 0xca80de71> (src/advisories/helpers/db.rs, url_to_db_path). deny.toml sets
# no db-urls, so the URL is the default https://github.com/RustSec/advisory-db; the name below is
# tied to DENY_VERSION (re-check it when bumping: a wrong name fails, it cannot pass silently).
DB_ROOT=target/deny/advisory-dbs # deny.toml: [advisories] db-path
DB_DIR=$DB_ROOT/advisory-db-3157b0e258782691

die() {
    echo "error: $*" >&2
    exit 1
}

# Without clippy as the workspace's compiler (.ci/run sets it for the host's build): it would
# lint cargo-deny's own crate as `cargo install` builds it.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

# --- cargo-deny, pinned (idempotent: installs only when missing or another version) ---------
installed=$(cargo deny --version 2>/dev/null || true)
if [ "$installed" != "cargo-deny $DENY_VERSION" ]; then
    echo "installing cargo-deny $DENY_VERSION (found: ${installed:-none})"
    start=$(date +%s)
    # No LTO, parallel codegen, opt-level 1: the crate's own release profile (fat LTO, one
    # codegen unit, opt-level 3) takes about twice as long to build on CI's 2 cores, and the
    # checks run in about a second either way (docs/ci.md has the figures).
    CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_INCREMENTAL=0 \
        cargo install cargo-deny --version "$DENY_VERSION" --locked --quiet ||
        die "cargo install cargo-deny $DENY_VERSION failed"
    echo "installed cargo-deny $DENY_VERSION in $(($(date +%s) - start)) s"
fi
[ "${1:-}" = "--install-only" ] && exit 0

# --- the advisory database snapshot, as a git repository ------------------------------------
rm -rf "$DB_ROOT"
mkdir -p "$DB_DIR"
if [ -n "${ASSAY_ADVISORY_DB:-}" ]; then
    [ -d "$ASSAY_ADVISORY_DB/crates" ] ||
        die "ASSAY_ADVISORY_DB='$ASSAY_ADVISORY_DB' has no crates/ folder: is it the RustSec advisory database?"
    origin="$ASSAY_ADVISORY_DB (ASSAY_ADVISORY_DB)"
    for item in crates rust LICENSE.txt SNAPSHOT; do
        if [ -e "$ASSAY_ADVISORY_DB/$item" ]; then
            cp -R "$ASSAY_ADVISORY_DB/$item" "$DB_DIR/"
        fi
    done
    chmod -R u+w "$DB_DIR"
    if [ ! -f "$DB_DIR/SNAPSHOT" ] && git -C "$ASSAY_ADVISORY_DB" rev-parse HEAD >/dev/null 2>&1; then
        echo "RustSec advisory database, snapshot of commit $(git -C "$ASSAY_ADVISORY_DB" log -1 --format=%H) ($(git -C "$ASSAY_ADVISORY_DB" log -1 --format=%cs))" >"$DB_DIR/SNAPSHOT"
    fi
else
    [ -f .ci/advisory-db.tar.gz ] || die ".ci/advisory-db.tar.gz is missing (scripts/update-advisory-db.sh makes it)"
    origin=".ci/advisory-db.tar.gz"
    tar -xzf .ci/advisory-db.tar.gz -C "$DB_DIR" --strip-components=1 ||
        die "cannot unpack .ci/advisory-db.tar.gz"
fi
[ -f "$DB_DIR/SNAPSHOT" ] || die "the advisory database from $origin has no SNAPSHOT file: its date is unknown"
snapshot=$(head -n 1 "$DB_DIR/SNAPSHOT")
day=$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$DB_DIR/SNAPSHOT" | head -n 1 || true)
[ -n "$day" ] || die "SNAPSHOT names no date (YYYY-MM-DD): $snapshot"
snap_s=$(date -u -d "$day" +%s) || die "SNAPSHOT's date '$day' is not a date"
age=$((($(date -u +%s) - snap_s) / 86400))

# cargo-deny opens the database as a git checkout (it reads HEAD's time). A throwaway repository
# with one commit dated as the snapshot; no hooks, signing or user configuration involved.
export GIT_AUTHOR_DATE="$day"T00:00:00Z GIT_COMMITTER_DATE="$day"T00:00:00Z
git -C "$DB_DIR" -c init.defaultBranch=main init -q
git -C "$DB_DIR" add -A
git -C "$DB_DIR" -c user.name=assay-ci -c user.email=ci@assay.invalid -c commit.gpgsign=false \
    -c core.hooksPath=/dev/null commit -q --no-verify -m "$snapshot" ||
    die "cannot make the temporary git repository of the advisory database in $DB_DIR"
unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE

advisories=$(find "$DB_DIR/crates" -name '*.md' | wc -l)
echo "advisory database: $origin, $advisories crate advisories"
echo "  $snapshot"
echo "  snapshot date $day: $age days old (today $(date -u +%F))"
if [ "$age" -gt "$STALE_DAYS" ]; then
    echo "warning: the advisory database snapshot is $age days old (more than $STALE_DAYS):" \
        "advisories published since $day are not checked; update it (docs/ci.md, scripts/update-advisory-db.sh)"
fi

# --- the checks ------------------------------------------------------------------------------
# cargo-deny's --offline also keeps cargo offline, and the crate graph covers every platform's
# dependencies (windows-sys...), which a Linux build never downloads: fetch them first (crates.io).
cargo fetch --locked --quiet || die "cargo fetch --locked failed (crates.io unreachable, or Cargo.lock out of date)"
start=$(date +%s)
status=0
cargo deny --offline --locked --color never check --show-stats "$@" || status=$?
echo "cargo-deny checks took $(($(date +%s) - start)) s"
if [ "$status" -ne 0 ]; then
    echo "error: the dependencies gate failed (exit $status): fix each error above, or accept it in deny.toml with a reason (docs/ci.md)" >&2
    exit "$status"
fi
