#!/usr/bin/env python3
"""Crash campaigns: SIGKILL `assay solvency prove` and `assay kyc issue` at random moments,
resume, and check what is left (issue 15, item 5). Run by scripts/crash-campaign.sh, which
builds the binary; see docs/ci.md.

Solvency, per trial: a fresh round is proven and killed 1 or 2 times at random moments (seeded,
uniform over the length of an uninterrupted run); after each kill every checkpoint file must
parse (no torn file). Then `prove --resume` finishes the round, and:
  * every checkpoint present before the resume (batch and aggregation proofs) is kept byte for
    byte (nothing finished is proven again), and the resume proves exactly the missing batches
    (batches_proven + batches_skipped = all batches, batches_skipped = the batch files present);
  * `solvency verify` accepts the round under the setup's manifest.

KYC, per trial: a fresh issuer issues 0 to 3 credentials, then an `issue` is killed at a random
moment (uniform over the length of an uninterrupted issue). Then:
  * the registry's serials are 0..n-1 (no gap, no reuse), n is the number issued before or one
    more; each credential has its leaf, equal to the leaf an uninterrupted issuer wrote for that
    serial with the same inputs (a whole credential), and no other row;
  * the killed run's credential file is absent, or whole (parses, its serial is the last one,
    its leaf the registry's);
  * the next `issue` gets serial n (the serial is not reused), and `publish` signs an epoch
    whose leaves are exactly the registry's.

Exit 0 when every trial passed; the last line reads `crash campaign: N passed, M failed`.
"""
import argparse
import glob
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

PASS = "crash campaign passphrase (test only)"
EXPIRES = "2099-01-01T00:00:00Z"


class TrialFailure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise TrialFailure(message)


class Assay:
    def __init__(self, binary, verbose):
        self.binary = binary
        self.verbose = verbose
        self.env = dict(os.environ, ASSAY_PASSPHRASE=PASS)

    def run(self, *args, expect=0):
        p = subprocess.run(
            [self.binary, *args], env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True,
        )
        if self.verbose:
            print("   $ assay", " ".join(args), "->", p.returncode, file=sys.stderr)
        if expect is not None and p.returncode != expect:
            raise TrialFailure(
                f"`assay {' '.join(args)}` exited {p.returncode} (expected {expect}): "
                f"{p.stderr.strip()[-600:]}"
            )
        return p

    def kill_after(self, delay, *args):
        """Starts `assay ARGS`, SIGKILLs it after `delay` seconds (unless it ended first).
        Returns True if it was killed, False if it had finished."""
        p = subprocess.Popen(
            [self.binary, *args], env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            p.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)  # no destructor, no rollback in the child
            p.wait()
            return True


def write_round_inputs(d, users, batch_size):
    os.makedirs(d, exist_ok=True)
    rows = ["user_id,USD,BTC"]
    for i in range(users):
        rows.append(f"user-{i},{i * 3}.{i % 100:02},0.{i * 1000 + 1:08}")
    balances = os.path.join(d, "balances.csv")
    with open(balances, "w") as f:
        f.write("\n".join(rows) + "\n")
    config = os.path.join(d, "round.json")
    with open(config, "w") as f:
        json.dump({
            "version": 1, "round_id": "crash-campaign", "balance_bits": 32,
            "batch_size": batch_size, "fan_in": 2,
            "assets": [{"symbol": "USD", "decimals": 2, "reserves": "1000000"},
                       {"symbol": "BTC", "decimals": 8, "reserves": "21"}],
            "previous_round": None,
        }, f)
    return balances, config


def checkpoints(out):
    """{path: sha256} of the batch and aggregation proofs in a round's work folder; each must
    parse as JSON (a torn checkpoint fails)."""
    found = {}
    work = os.path.join(out, "private", "work")
    for pattern in ("batches/batch-*.json", "aggregations/agg-*.json"):
        for p in sorted(glob.glob(os.path.join(work, pattern))):
            with open(p, "rb") as f:
                data = f.read()
            try:
                json.loads(data)
            except ValueError as e:
                raise TrialFailure(f"torn checkpoint {os.path.relpath(p, out)}: {e}")
            found[p] = hashlib.sha256(data).hexdigest()
    return found


def solvency_trial(assay, rng, ctx, trial_dir):
    out = os.path.join(trial_dir, "round")
    args = ["solvency", "prove", "--balances", ctx["balances"], "--config", ctx["config"],
            "--out", out, "--keys", ctx["keys"], "--signing-key", ctx["signing_key"]]
    kills = rng.randint(1, 2)
    notes = []
    finished = False
    for k in range(kills):
        delay = rng.uniform(0.0, ctx["prove_seconds"])
        a = args + (["--resume"] if k > 0 else [])
        killed = assay.kill_after(delay, *a)
        present = checkpoints(out)
        batches = sum(1 for p in present if "/batches/" in p)
        notes.append(f"kill at {delay:.2f}s: {batches} batch proofs on disk"
                     if killed else f"run ended before {delay:.2f}s")
        if os.path.exists(os.path.join(out, "round.json")):
            finished = True
            break
        if killed:
            tally(ctx, f"solvency: killed with {batches}/{ctx['batches']} batch proofs on disk")
    present = checkpoints(out)
    batch_files = sum(1 for p in present if "/batches/" in p)
    if not finished:
        p = assay.run(*(args + ["--resume", "--json"]))
        try:
            summary = json.loads(p.stdout)
        except ValueError:
            raise TrialFailure(f"resume printed no JSON summary: {p.stdout[-300:]}")
        total = ctx["batches"]
        check(summary["batches_proven"] + summary["batches_skipped"] == total,
              f"resume: {summary['batches_proven']} proven + {summary['batches_skipped']} "
              f"skipped != {total} batches")
        check(summary["batches_skipped"] == batch_files,
              f"resume skipped {summary['batches_skipped']} batches, {batch_files} were on disk")
        after = checkpoints(out)
        for path, digest in present.items():
            check(after.get(path) == digest,
                  f"checkpoint {os.path.relpath(path, out)} was rewritten by the resume "
                  "(proven twice)")
        notes.append(f"resume: {summary['batches_proven']} proven, "
                     f"{summary['batches_skipped']} kept")
    else:
        notes.append("round finished before a kill")
    assay.run("solvency", "verify", out, "--trusted-keys", ctx["keys"])
    notes.append("verifies")
    return "; ".join(notes)


def tally(ctx, outcome):
    ctx["tally"][outcome] = ctx["tally"].get(outcome, 0) + 1


def registry(issuer):
    conn = sqlite3.connect(f"file:{os.path.join(issuer, 'registry.sqlite')}?mode=ro", uri=True)
    try:
        creds = conn.execute(
            "SELECT serial, jurisdiction, expiry_day FROM credentials ORDER BY serial").fetchall()
        leaves = conn.execute(
            "SELECT serial, backend, leaf, holder_commitment FROM leaves ORDER BY serial, backend"
        ).fetchall()
    finally:
        conn.close()
    return creds, leaves


def check_registry(ctx, issuer, allowed_counts):
    creds, leaves = registry(issuer)
    n = len(creds)
    check(n in allowed_counts, f"registry holds {n} credentials, expected one of {allowed_counts}")
    check([c[0] for c in creds] == list(range(n)),
          f"serials are not 0..{n - 1}: {[c[0] for c in creds]}")
    check(len(leaves) == n, f"{len(leaves)} leaf rows for {n} credentials (a torn credential)")
    for (serial, jur, day), (lserial, backend, leaf, hid) in zip(creds, leaves):
        check(lserial == serial and backend == "groth16-bn254",
              f"credential {serial}: leaf row ({lserial}, {backend})")
        check((jur, day) == ctx["kyc_fields"], f"credential {serial}: fields {(jur, day)}")
        check(hid == ctx["hid"], f"credential {serial}: holder commitment {hid}")
        check(leaf == ctx["ref_leaves"][serial],
              f"credential {serial}: leaf {leaf} is not the leaf of an uninterrupted issue")
    return n


def issue_args(ctx, issuer, out):
    return ["kyc", "issue", "--issuer", issuer, "--holder-commitment", ctx["hid"],
            "--country", "FR", "--region", "FR-20R", "--expires", EXPIRES, "--out", out]


def read_credential(path):
    with open(path) as f:
        return json.load(f)


def kyc_trial(assay, rng, ctx, trial_dir):
    issuer = os.path.join(trial_dir, "issuer")
    shutil.copytree(ctx["issuer_template"], issuer)
    pre = rng.randint(0, 3)
    for i in range(pre):
        assay.run(*issue_args(ctx, issuer, os.path.join(trial_dir, f"cred-{i}.json")))
    killed_out = os.path.join(trial_dir, f"cred-{pre}.json")
    delay = rng.uniform(0.0, ctx["issue_seconds"])
    killed = assay.kill_after(delay, *issue_args(ctx, issuer, killed_out))
    n = check_registry(ctx, issuer, (pre, pre + 1))
    if os.path.exists(killed_out):
        try:
            cred = read_credential(killed_out)
        except ValueError as e:
            raise TrialFailure(f"torn credential file {os.path.basename(killed_out)}: {e}")
        check(n == pre + 1 and cred["serial"] == pre,
              f"credential file names serial {cred.get('serial')}, registry holds {n}")
        check(cred["backends"]["groth16-bn254"]["leaf"] == ctx["ref_leaves"][pre],
              "the killed run's credential file is not whole")
        state = "credential whole (registry and file)"
    elif n == pre + 1:
        state = "credential in the registry, file not written"
    else:
        state = "credential absent"
    tally(ctx, f"kyc: {state}" if killed else f"kyc: issue ended before the kill, {state}")
    strays = [f for f in os.listdir(trial_dir)
              if f.startswith("cred-") and f.endswith(".json")
              and f != os.path.basename(killed_out)
              and int(f[5:-5]) >= pre]
    check(not strays, f"unexpected credential files {strays}")
    # Resume: the next credential gets the next serial; the epoch holds exactly the registry.
    nxt = os.path.join(trial_dir, "cred-next.json")
    assay.run(*issue_args(ctx, issuer, nxt))
    check(read_credential(nxt)["serial"] == n, f"the next issue did not get serial {n}")
    n2 = check_registry(ctx, issuer, (n + 1,))
    leaves_out = os.path.join(trial_dir, "leaves.json")
    assay.run("kyc", "publish", "--issuer", issuer, "--out", os.path.join(trial_dir, "epoch.json"),
              "--leaves", leaves_out)
    with open(leaves_out) as f:
        text = f.read()
    for s in range(n2):
        check(ctx["ref_leaves"][s] in text, f"epoch leaves lack credential {s}")
    kill_note = f"kill at {delay:.3f}s" if killed else f"issue ended before {delay:.3f}s"
    return f"{pre} issued, {kill_note}: {state}; next serial {n}; epoch of {n2} credentials"


def prepare(assay, work, what, verbose):
    ctx = {"tally": {}}
    t = time.time()
    ctx["balances"], ctx["config"] = write_round_inputs(os.path.join(work, "inputs"), 24, 4)
    ctx["batches"] = 8  # 24 customers padded to 32 leaves, B = 4
    ctx["keys"] = os.path.join(work, "keys")
    setup = ["solvency", "setup", "--out", ctx["keys"]]
    if "solvency" in what:
        setup += ["--config", ctx["config"]]
    if "kyc" in what:
        setup += ["--kyc"]
    assay.run(*setup)
    print(f"setup: Groth16 keys in {time.time() - t:.1f}s", flush=True)
    if "solvency" in what:
        ctx["signing_key"] = os.path.join(work, "publication-key.json")
        ref = os.path.join(work, "reference-round")
        t = time.time()
        assay.run("solvency", "prove", "--balances", ctx["balances"], "--config", ctx["config"],
                  "--out", ref, "--keys", ctx["keys"], "--signing-key", ctx["signing_key"])
        # The first run also made the publication key: time a second one for the kill window.
        shutil.rmtree(ref)
        t = time.time()
        assay.run("solvency", "prove", "--balances", ctx["balances"], "--config", ctx["config"],
                  "--out", ref, "--keys", ctx["keys"], "--signing-key", ctx["signing_key"])
        ctx["prove_seconds"] = time.time() - t
        print(f"solvency: an uninterrupted prove takes {ctx['prove_seconds']:.2f}s "
              f"({ctx['batches']} batch proofs)", flush=True)
    if "kyc" in what:
        tmpl = os.path.join(work, "issuer-template")
        assay.run("kyc", "issuer", "init", "--dir", tmpl, "--keys", ctx["keys"])
        ctx["issuer_template"] = tmpl
        holder = os.path.join(work, "holder.json")
        assay.run("kyc", "holder", "init", "--out", holder)
        with open(holder) as f:
            ctx["hid"] = json.load(f)["commitments"]["groth16-bn254"]
        # Reference: an uninterrupted issuer's leaves for serials 0..5 (the leaf depends only
        # on the holder, jurisdiction, expiry and serial, all fixed here).
        ref = os.path.join(work, "reference-issuer")
        shutil.copytree(tmpl, ref)
        times = []
        ctx["ref_leaves"] = []
        for i in range(6):
            out = os.path.join(work, f"reference-cred-{i}.json")
            t = time.time()
            assay.run(*issue_args(ctx, ref, out))
            times.append(time.time() - t)
            cred = read_credential(out)
            check(cred["serial"] == i, "reference issuer: serials out of order")
            ctx["ref_leaves"].append(cred["backends"]["groth16-bn254"]["leaf"])
        creds, _ = registry(ref)
        ctx["kyc_fields"] = (creds[0][1], creds[0][2])
        ctx["issue_seconds"] = sorted(times)[len(times) // 2]
        print(f"kyc: an uninterrupted issue takes {ctx['issue_seconds'] * 1000:.0f} ms",
              flush=True)
    return ctx


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assay", required=True, help="the assay binary")
    ap.add_argument("--trials", type=int, default=20, help="trials per command (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the kill moments (default 1)")
    ap.add_argument("--only", choices=["solvency", "kyc"], help="one campaign only")
    ap.add_argument("--work", help="work folder (default: a temporary one, removed)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    if a.trials < 1:
        ap.error("--trials must be at least 1")
    what = [a.only] if a.only else ["solvency", "kyc"]
    assay = Assay(os.path.abspath(a.assay), a.verbose)
    tmp = None
    if a.work:
        work = os.path.abspath(a.work)
        if os.path.exists(work) and os.listdir(work):
            print(f"error: --work {work} is not empty", file=sys.stderr)
            return 2
        os.makedirs(work, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="assay-crash-")
        work = tmp
    print(f"crash campaign: {', '.join(what)}, {a.trials} trials each, seed {a.seed}, in {work}",
          flush=True)
    passed = failed = 0
    try:
        try:
            ctx = prepare(assay, work, what, a.verbose)
        except TrialFailure as e:
            print(f"error: preparing the campaign: {e}", file=sys.stderr)
            return 2
        for name, trial in (("solvency", solvency_trial), ("kyc", kyc_trial)):
            if name not in what:
                continue
            rng = random.Random(f"{a.seed}/{name}")
            for i in range(a.trials):
                d = os.path.join(work, f"{name}-{i:02}")
                os.makedirs(d)
                t = time.time()
                try:
                    note = trial(assay, rng, ctx, d)
                    passed += 1
                    print(f"  {name} trial {i:2}: ok   ({time.time() - t:4.1f}s) {note}",
                          flush=True)
                except (TrialFailure, KeyError, ValueError, OSError, sqlite3.Error) as e:
                    failed += 1
                    print(f"  {name} trial {i:2}: FAIL ({time.time() - t:4.1f}s) {e}",
                          flush=True)
                    if a.work is None:
                        # Keep the evidence of a failed trial.
                        keep = tempfile.mkdtemp(prefix=f"assay-crash-{name}-{i:02}-")
                        shutil.copytree(d, keep, dirs_exist_ok=True)
                        print(f"     kept in {keep}", flush=True)
        for state, count in sorted(ctx["tally"].items()):
            print(f"  {count:3} x {state}")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"crash campaign: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
