#!/usr/bin/env python3
"""Secrets in the tree and in the history, with detect-secrets and its plugins as configured in
the reviewed baseline (.secrets.baseline). The tracked files of the work tree, then every blob
ever committed on the branches of this clone, are scanned. A finding fails unless its hashed
secret is in the baseline or in the reviewed list of historical findings
(.ci/secrets-history.allow.json: values that were public, e.g. signatures, public keys and
verifying-key hashes of fixtures since regenerated). Findings are compared by hashed secret,
not by line, so moving a reviewed value does not fail.

  python3 .ci/secrets_check.py            check (exit 1 on a new finding)
  python3 .ci/secrets_check.py --update   write the history list anew (review it!); the tree's
                                          baseline: detect-secrets scan --baseline .secrets.baseline
"""
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading

from detect_secrets import SecretsCollection
from detect_secrets.settings import transient_settings

ROOT = subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip()
ALLOW = os.path.join(ROOT, ".ci", "secrets-history.allow.json")
BASELINE = os.path.join(ROOT, ".secrets.baseline")


def blobs():
    """(sha, path) of every blob reachable from any ref, each once."""
    out = subprocess.check_output(["git", "rev-list", "--objects", "--all"], cwd=ROOT, text=True)
    seen = set()
    pairs = [line.split(" ", 1) for line in out.splitlines() if " " in line]
    shas = [p[0] for p in pairs]
    kinds = subprocess.run(
        ["git", "cat-file", "--batch-check=%(objecttype) %(objectname)"],
        cwd=ROOT, input="\n".join(shas) + "\n", capture_output=True, text=True, check=True,
    ).stdout.split()
    types = dict(zip(kinds[1::2], kinds[0::2]))
    for sha, path in pairs:
        if types.get(sha) == "blob" and sha not in seen:
            seen.add(sha)
            yield sha, path


_SETTINGS = None


def _init_worker(plugins):
    """Each worker scans with the baseline's plugins and filters."""
    global _SETTINGS
    _SETTINGS = transient_settings(plugins)
    _SETTINGS.__enter__()


def _scan_blob(job):
    """The findings (hashed secret, type, path, blob) of one blob written under `root`."""
    root, path, sha = job
    coll = SecretsCollection(root=root)
    coll.scan_file(path)
    return [(secret.secret_hash, secret.type, path, sha) for _, secret in coll]


def _scan_tree_file(path):
    """The findings (hashed secret, type, path, line) of one tracked file of the work tree."""
    coll = SecretsCollection(root=ROOT)
    coll.scan_file(path)
    return [(secret.secret_hash, secret.type, filename, secret.line_number)
            for filename, secret in coll]


def main():
    update = "--update" in sys.argv
    with open(BASELINE) as f:
        baseline = json.load(f)
    known = {s["hashed_secret"] for v in baseline["results"].values() for s in v}
    allowed = {}
    if os.path.exists(ALLOW) and not update:
        with open(ALLOW) as f:
            allowed = {a["hashed_secret"]: a for a in json.load(f)["allowed"]}
    plugins = {"plugins_used": baseline["plugins_used"], "filters_used": baseline["filters_used"]}
    found = {}
    # Blobs of the tracked tree are scanned below as the tree's files (against the baseline):
    # the history walk takes only the blobs the tree no longer holds.
    in_tree = {
        line.split()[1]
        for line in subprocess.check_output(["git", "ls-files", "-s"], cwd=ROOT, text=True)
        .splitlines()
    }
    todo = [
        (sha, path) for sha, path in blobs()
        if sha not in in_tree and not path.startswith(("target/", "web/node_modules/", "web/pkg/")) and path not in (
            ".secrets.baseline",
            ".ci/secrets-history.allow.json",
        )
    ]
    n = len(todo)
    # One `git cat-file --batch` for every blob, then the scans on every core (each scan is
    # independent; the findings are merged in blob order, so the first path named is stable).
    # The tracked files of the work tree, scanned by the same pool after the history.
    files = subprocess.check_output(["git", "ls-files", "-z"], cwd=ROOT).split(b"\0")
    names = (f.decode() for f in files if f)
    tracked = [
        f for f in names
        if f not in (".secrets.baseline", ".ci/secrets-history.allow.json")
        and os.path.isfile(os.path.join(ROOT, f))
    ]
    tree_new = []
    with multiprocessing.Pool(os.cpu_count() or 1, _init_worker, (plugins,)) as pool, \
            tempfile.TemporaryDirectory() as tmp:
        with subprocess.Popen(["git", "cat-file", "--batch"], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE) as cat:
            def feed():  # from a thread: cat's output is read while its input is written
                cat.stdin.write("".join(f"{sha}\n" for sha, _ in todo).encode())
                cat.stdin.close()
            writer = threading.Thread(target=feed)
            writer.start()
            for sha, path in todo:
                header = cat.stdout.readline().split()
                data = cat.stdout.read(int(header[2]))
                cat.stdout.read(1)
                dest = os.path.join(tmp, sha[:12], path)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as f:
                    f.write(data)
            writer.join()
        jobs = [(os.path.join(tmp, sha[:12]), path, sha) for sha, path in todo]
        for results in pool.imap(_scan_blob, jobs, chunksize=8):
            for h, t, path, sha in results:
                if h not in known:
                    found.setdefault(h, (t, path, sha))
        for results in pool.imap(_scan_tree_file, tracked, chunksize=8):
            for h, t, filename, line in results:
                if h not in known:
                    tree_new.append((filename, line, t))
    print(f"tree: {len(files) - 1} tracked files; {len(tree_new)} findings not in the baseline")
    for f, line, t in tree_new:
        print(f"  NEW {t} at {f}:{line}")
    if update:
        entries = [
            {"hashed_secret": h, "type": t, "first_seen": p, "blob": s,
             "reason": "reviewed: a public value of a fixture (hash, key, proof or signature)"}
            for h, (t, p, s) in sorted(found.items(), key=lambda x: (x[1][1], x[0]))
        ]
        with open(ALLOW, "w") as f:
            json.dump({"version": 1, "allowed": entries}, f, indent=1)
            f.write("\n")
        print(f"history: {n} blobs not in the tree scanned; {len(entries)} findings written to {ALLOW}: review them")
        return 0
    new = {h: v for h, v in found.items() if h not in allowed}
    print(f"history: {n} blobs not in the tree scanned; {len(found)} findings outside the tree baseline, "
          f"{len(found) - len(new)} reviewed, {len(new)} new")
    for h, (t, p, s) in sorted(new.items(), key=lambda x: x[1][1]):
        print(f"  NEW {t} in {p} (blob {s[:12]}, hashed secret {h})")
    return 1 if new or tree_new else 0


if __name__ == "__main__":
    sys.exit(main())
