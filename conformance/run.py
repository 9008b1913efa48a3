#!/usr/bin/env python3
"""Tempest conformance ratchet for a running Stratus.

    "$(scripts/venv.sh)/bin/python" conformance/run.py --uri http://127.0.0.1:PORT/v3
    (admin password in STRATUS_ADMIN_PASSWORD or --admin-password)

Runs tempest (from the venv this interpreter belongs to) on the selected
tests, writes the results to conformance/.work/, and compares them with
conformance/expected-pass.txt: each listed test that passed counts as passed,
each that did not as failed. Tests that passed but are not listed are printed
so they can be added. Last line: `conformance: N passed, N failed`.
Use --compare-only to re-read the last run's results without running tempest.

The tests of conformance/guest-tests.txt log into a real guest over SSH (tempest's
[validation]); they are left to a second run with --guest against a cloud whose
servers are QEMU guests (scripts/test.sh's guest step), and each run compares only
its own part of the expected list.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import subunit
import testtools

import tempest_conf

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.abspath(os.environ.get("CONFORMANCE_WORKDIR", os.path.join(HERE, ".work")))
WS = os.path.join(WORK, "ws")
RESULTS = os.path.join(WORK, "results.subunit")
EXPECTED = os.path.join(HERE, "expected-pass.txt")
GUEST_TESTS = os.path.join(HERE, "guest-tests.txt")
INTEROP = os.environ.get("CONFORMANCE_INTEROP", os.path.join(
    HERE, "..", "..", "shared", "conformance", "interop-2020.06-required.tsv"))
# tests run by default: every API test of each available service
SERVICE_SELECTION = {None: r"^tempest\.api\.identity\.", "glance": r"^tempest\.api\.image\.",
                     "neutron": r"^tempest\.api\.network\.", "nova": r"^tempest\.api\.compute\.",
                     "cinder": r"^tempest\.api\.volume\.", "swift": r"^tempest\.api\.object_storage\."}
# interop capability prefix -> [service_available] flag (None: always run)
INTEROP_SERVICE = {"identity": None, "compute": "nova", "images": "glance",
                   "networks": "neutron", "volumes": "cinder", "objectstore": "swift"}


def strip_attrs(test_id):
    """tempest...test_x[id-...,smoke] -> tempest...test_x"""
    return re.sub(r"\[[^\]]*\]$", "", test_id)


def read_list(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = (line.split("#", 1)[0].strip() for line in f)
        return [line for line in lines if line]


def interop_tests(services):
    """Required interop tests whose service is available."""
    if not os.path.exists(INTEROP):
        print(f"conformance: no interop list at {INTEROP}; skipping it")
        return []
    tests = []
    with open(INTEROP) as f:
        next(f, None)  # header: capability, idempotent_id, tempest_test, flagged
        for row in f:
            cols = row.rstrip("\n").split("\t")
            if len(cols) < 3:
                continue
            prefix = cols[0].split("-", 1)[0]
            if prefix in INTEROP_SERVICE and INTEROP_SERVICE[prefix] in (None, *services):
                tests.append(cols[2])
    return tests


def run_tempest(args, services, include):
    shutil.rmtree(WS, ignore_errors=True)
    os.makedirs(os.path.join(WS, "etc"))
    import tempest
    top = os.path.dirname(os.path.dirname(os.path.abspath(tempest.__file__)))
    with open(os.path.join(WS, ".stestr.conf"), "w") as f:
        f.write(f"[DEFAULT]\ntest_path={top}/tempest/test_discover\ntop_dir={top}\n"
                "group_regex=([^\\.]*\\.)*\n")
    conf = tempest_conf.build(args.uri, args.admin_password, WS, services, args.set)
    with open(os.path.join(WS, "etc", "tempest.conf"), "w") as f:
        conf.write(f)
    include_file = os.path.join(WORK, "include-list.txt")
    with open(include_file, "w") as f:
        f.write("\n".join(include) + "\n")

    bindir = os.path.dirname(sys.executable)
    stestr = os.path.join(bindir, "stestr")
    env = dict(os.environ, TEMPEST_CONFIG_DIR=os.path.join(WS, "etc"),
               TEMPEST_CONFIG="tempest.conf",
               OS_TEST_TIMEOUT=os.environ.get("OS_TEST_TIMEOUT", "180"),
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    log = os.path.join(WORK, "stestr.log")
    print(f"conformance: running tempest, concurrency {args.concurrency} "
          f"(output: {log}; tempest log: {WS}/tempest.log)", flush=True)
    with open(log, "w") as out:
        subprocess.run([stestr, "init"], cwd=WS, env=env, stdout=out, stderr=out)
        try:
            subprocess.run([stestr, "run", "--concurrency", str(args.concurrency),
                            "--include-list", include_file],
                           cwd=WS, env=env, stdout=out, stderr=out, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"conformance: tempest still running after {args.timeout}s; stopped it")
    with open(RESULTS, "wb") as out:
        subprocess.run([stestr, "last", "--subunit"], cwd=WS, env=env, stdout=out,
                       stderr=subprocess.DEVNULL)


def parse_results():
    """{test id without attrs: (status, traceback text)} from the last run."""
    results = {}

    def on_test(test):
        tb = test["details"].get("traceback")
        results[strip_attrs(test["id"])] = (test["status"], tb.as_text() if tb else "")

    if os.path.exists(RESULTS):
        with open(RESULTS, "rb") as f:
            stream = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
            result = testtools.StreamToDict(on_test)
            result.startTestRun()
            stream.run(result)
            result.stopTestRun()
    return results


def write_list(name, tests):
    with open(os.path.join(WORK, name), "w") as f:
        f.write("".join(t + "\n" for t in sorted(tests)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--uri", default=os.environ.get("STRATUS_IDENTITY_URL"),
                   help="Identity v3 URL, ending in /v3")
    p.add_argument("--admin-password", default=os.environ.get("STRATUS_ADMIN_PASSWORD"))
    p.add_argument("--services", default=os.environ.get("TEMPEST_SERVICES", ""),
                   help="comma-separated available services (tempest_conf.py)")
    p.add_argument("--set", action="append", default=os.environ.get("TEMPEST_CONF_SET", "").split(),
                   metavar="SECTION.KEY=VALUE", help="extra tempest.conf setting")
    p.add_argument("--select", action="append", metavar="REGEX",
                   help="tests to run (default: the API tests of the available services); repeatable")
    p.add_argument("--concurrency", type=int, default=int(os.environ.get("CONFORMANCE_CONCURRENCY", 2)))
    p.add_argument("--timeout", type=int, default=int(os.environ.get("CONFORMANCE_TIMEOUT", 1500)),
                   help="seconds before the tempest run is stopped")
    p.add_argument("--guest", action="store_true",
                   help="run and compare only the tests of guest-tests.txt (needs a cloud with real guests)")
    p.add_argument("--compare-only", action="store_true",
                   help="don't run tempest; compare the last run's results")
    args = p.parse_args()

    os.makedirs(WORK, exist_ok=True)
    services = {s for s in args.services.split(",") if s}
    guest = set(read_list(GUEST_TESTS))
    expected = [t for t in read_list(EXPECTED) if (t in guest) == args.guest]
    if not args.compare_only:
        if not (args.uri and args.admin_password):
            p.error("need --uri and --admin-password (or STRATUS_ADMIN_PASSWORD)")
        default = [r for s, r in SERVICE_SELECTION.items() if s is None or s in services]
        tests = sorted(guest) if args.guest else interop_tests(services) + expected
        include = ([] if args.guest else (args.select or default)) + ["^" + re.escape(t) + r"(\[|$)" for t in tests]
        run_tempest(args, services, include)

    results = parse_results()
    by_status = {}
    for test, (status, _) in results.items():
        by_status.setdefault(status, set()).add(test)
    passed = by_status.get("success", set())
    write_list("passed.txt", passed)
    write_list("failed.txt", by_status.get("fail", set()) | by_status.get("uxsuccess", set()))
    write_list("skipped.txt", by_status.get("skip", set()))
    print("tempest results: " + ", ".join(f"{len(v)} {k}" for k, v in sorted(by_status.items()))
          + f" (lists in {WORK})")

    missing = [t for t in expected if t not in passed]
    for test in missing:
        status, tb = results.get(test, ("not run", ""))
        print(f"FAIL {test} ({status})")
        for line in tb.strip().splitlines()[-15:]:
            print("    | " + line)
    new = sorted(t for t in passed - set(expected) if (t in guest) == args.guest)
    if new:
        print(f"newly passing, add to {os.path.relpath(EXPECTED)}:")
        print("".join(f"  {t}\n" for t in new), end="")
    failed = len(missing)
    if not results:
        print("conformance: tempest ran no tests")
        failed += 1
    print(f"conformance: {len(expected) - len(missing)} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
