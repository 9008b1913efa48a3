#!/usr/bin/env python3
"""No secret in the server's log: run after the scenarios and Tempest on the test cloud.

    scripts/checks/log-secrets.py DATA_DIR LOG_FILE...

Fails on any line of the logs that holds the admin or service password, a Fernet token, a
private key, the secret of any EC2 credential the cloud holds (read through the API as admin:
URL and ADMIN_PASSWORD in the environment), or a password, secret or token field or header
whose value is not masked. The last line is `log-secrets: N passed, N failed`.
"""
import json
import os
import re
import sys
import urllib.request

FERNET = re.compile(r"gAAAAA[A-Za-z0-9_\-]{40,}")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# `"password": "x"`, `password=x`, `X-Auth-Token: x`: a named secret with a value that is not
# masked (`***`, empty).
FIELD = re.compile(
    r"""(?ix)["']?(password|secret|secret_key|adminPass|x-auth-token|x-subject-token|x-service-token|
    token_id|passphrase)["']?\s*[:=]\s*["']?(?!\*\*\*)([^\s"',}]{6,})""")


def admin_token(url, password):
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    request = urllib.request.Request(
        url.rstrip("/") + "/v3/auth/tokens", data=json.dumps(auth).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers["X-Subject-Token"]


def ec2_secrets(url, token):
    request = urllib.request.Request(url.rstrip("/") + "/v3/credentials?type=ec2", headers={"X-Auth-Token": token})
    with urllib.request.urlopen(request, timeout=30) as response:
        credentials = json.load(response)["credentials"]
    secrets = []
    for credential in credentials:
        try:
            secret = json.loads(credential["blob"]).get("secret")
        except (ValueError, AttributeError):
            continue
        if secret:
            secrets.append(secret)
    return secrets


def known_secrets(data):
    secrets = {"the admin password": os.environ["ADMIN_PASSWORD"]}
    path = os.path.join(data, "service-password")
    if os.path.exists(path):
        with open(path) as f:
            secrets["the service password"] = f.read().strip()
    token = admin_token(os.environ["URL"], secrets["the admin password"])
    for index, secret in enumerate(ec2_secrets(os.environ["URL"], token)):
        secrets[f"EC2 secret {index + 1}"] = secret
    return secrets


def findings(line, secrets):
    for name, secret in secrets.items():
        if secret and secret in line:
            yield name
    if FERNET.search(line):
        yield "a Fernet token"
    if PRIVATE_KEY.search(line):
        yield "a private key"
    for match in FIELD.finditer(line):
        yield f"an unmasked {match.group(1)} field"


def main():
    data, logs = sys.argv[1], sys.argv[2:]
    secrets = known_secrets(data)
    passed = failed = 0
    for log in logs:
        lines = 0
        bad = []
        with open(log, errors="replace") as f:
            for number, line in enumerate(f, 1):
                lines += 1
                for finding in findings(line, secrets):
                    bad.append(f"    {os.path.basename(log)}:{number}: {finding}")
        if bad:
            failed += 1
            print(f"FAIL {log}: {len(bad)} secrets in {lines} lines")
            print("\n".join(bad[:20]))
        else:
            passed += 1
            print(f"PASS {log}: no secrets in {lines} lines ({len(secrets)} known secrets, and the patterns)")
    print(f"log-secrets: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
