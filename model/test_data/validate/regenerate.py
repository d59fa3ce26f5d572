#!/usr/bin/env python3
"""Regenerates and re-verifies model/test_data/validate/*.conf against the real corosync.

Each case is a complete corosync.conf that corosync 3.1.7 accepts except for one error.
The first line records what `corosync -t` printed; for startup refusals the second line
records the real daemon's exit status and reason (also checked against corosync-vqsim where
it applies). `# fix:` gives a replacement that turns the file into a passing one, which is
verified too (rc=0; for startup cases the daemon keeps running and vqsim reports nothing). Needs root, a network namespace NETNS with 198.18.0.1 on
an interface, and /etc/netns/NETNS/corosync/ holding `authkey` (256 bytes) and
`authkey-short` (100 bytes), which `ip netns exec` mounts over /etc/corosync.

Usage: regenerate.py [NETNS]   (default qv1)
"""
import os
import re
import subprocess
import sys
import tempfile

NETNS = sys.argv[1] if len(sys.argv) > 1 else "qv1"
HERE = os.path.dirname(os.path.abspath(__file__))

BASE = """totem {
    version: 2
    cluster_name: qv
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    keyfile: /etc/corosync/authkey
}
nodelist {
    node {
        name: node1
        nodeid: 1
        ring0_addr: 198.18.0.1
    }
    node {
        name: node2
        nodeid: 2
        ring0_addr: 198.18.0.2
    }
    node {
        name: node3
        nodeid: 3
        ring0_addr: 198.18.0.3
    }
}
quorum {
    provider: corosync_votequorum
}
logging {
    to_syslog: yes
}
"""

NOCRYPTO = "    crypto_cipher: aes256\n    crypto_hash: sha256\n    keyfile: /etc/corosync/authkey\n"
TWO_LINKS = [
    ("ring0_addr: 198.18.0.1", "ring0_addr: 198.18.0.1\n        ring1_addr: 198.18.1.1"),
    ("ring0_addr: 198.18.0.2", "ring0_addr: 198.18.0.2\n        ring1_addr: 198.18.1.2"),
    ("ring0_addr: 198.18.0.3", "ring0_addr: 198.18.0.3\n        ring1_addr: 198.18.1.3"),
]
DEVICE = "    device {\n        model: net\n        net {\n            host: 198.18.0.9\n        }\n    }\n"


def totem(extra):
    return [("    version: 2\n", "    version: 2\n" + extra)]


def quorum(extra):
    return [("    provider: corosync_votequorum\n", "    provider: corosync_votequorum\n" + extra)]


def udpu():
    return [("transport: knet", "transport: udpu"), (NOCRYPTO, "")]


def udp():
    return [("transport: knet", "transport: udp"), (NOCRYPTO, "")]


# (file name, edits applied to BASE in order, fix (from, to) applied to the result, also)
CASES = [
    ("E101-integer-out-of-range", quorum("    two_node: yes\n"), ("two_node: yes", "two_node: 0"), []),
    ("E102-unsigned-out-of-range", totem("    config_version: 1.5\n"), ("config_version: 1.5", "config_version: 2"), []),
    ("E103-invalid-ip-version", totem("    ip_version: ipv5\n"), ("ip_version: ipv5", "ip_version: ipv4"), []),
    ("E104-invalid-crypto-model", totem("    crypto_model: gcrypt\n"), ("crypto_model: gcrypt", "crypto_model: nss"), []),
    ("E105-invalid-crypto-cipher", [("crypto_cipher: aes256", "crypto_cipher: 3des")], ("crypto_cipher: 3des", "crypto_cipher: aes256"), []),
    ("E106-invalid-crypto-hash", [("crypto_hash: sha256", "crypto_hash: crc32")], ("crypto_hash: crc32", "crypto_hash: sha256"), []),
    ("E107-invalid-compression-model", totem("    knet_compression_model: gzip\n"), ("knet_compression_model: gzip", "knet_compression_model: zlib"), []),
    ("E108-invalid-system-value", [("logging {", "system {\n    qb_ipc_type: pipe\n}\nlogging {")], ("qb_ipc_type: pipe", "qb_ipc_type: native"), []),
    ("E109-invalid-section-item", [("logging {", "uidgid {\n    uid: root\n    user: root\n}\nlogging {")], ("    user: root\n", "    gid: root\n"), []),
    ("E110-invalid-logging-value", [("to_syslog: yes", "to_syslog: yes\n    debug: maybe")], ("debug: maybe", "debug: off"), []),
    ("E111-invalid-transport", [("transport: knet", "transport: tcp")], ("transport: tcp", "transport: knet"), []),
    ("E112-cipher-without-hash", [("crypto_hash: sha256", "crypto_hash: none")], ("crypto_hash: none", "crypto_hash: sha256"), []),
    ("E113-unreadable-authkey", [("keyfile: /etc/corosync/authkey", "keyfile: /etc/corosync/authkey-missing")], ("authkey-missing", "authkey"), []),
    ("E114-short-authkey", [("keyfile: /etc/corosync/authkey", "keyfile: /etc/corosync/authkey-short")], ("authkey-short", "authkey"), []),
    ("E115-short-inline-key", [("keyfile: /etc/corosync/authkey", "key: " + "k" * 126)], ("key: " + "k" * 126, "key: " + "k" * 127), []),
    ("E116-link-mode-too-long", totem("    link_mode: " + "p" * 64 + "\n"), ("link_mode: " + "p" * 64, "link_mode: passive"), []),
    ("E117-link-number-too-high", totem("    interface {\n        linknumber: 8\n        knet_link_priority: 2\n    }\n"), ("linknumber: 8", "linknumber: 0"), []),
    ("E118-invalid-interface-address", totem("    ip_version: ipv4\n    interface {\n        linknumber: 0\n        mcastaddr: ff15::1\n    }\n"), ("mcastaddr: ff15::1", "mcastaddr: 239.192.1.1"), []),
    ("E119-invalid-knet-transport", totem("    interface {\n        linknumber: 0\n        knet_transport: tcp\n    }\n"), ("knet_transport: tcp", "knet_transport: udp"), []),
    ("E120-local-nodeid-missing", [("        nodeid: 1\n", "")], ("        name: node1\n", "        name: node1\n        nodeid: 1\n"), []),
    ("E121-knet-nodeid-missing", [("        nodeid: 2\n", "")], ("        name: node2\n", "        name: node2\n        nodeid: 2\n"), []),
    ("E122-knet-nodeid-too-high", [("nodeid: 2", "nodeid: 65536")], ("nodeid: 65536", "nodeid: 65535"), []),
    ("E123-ipv6-nodeid-missing", udpu() + [("        nodeid: 2\n", ""), ("ring0_addr: 198.18.0.2", "ring0_addr: fd00:198:18::2")], ("ring0_addr: fd00:198:18::2", "ring0_addr: 198.18.0.2"), ["E135"]),
    ("E124-invalid-node-address", totem("    ip_version: ipv4\n") + [("ring0_addr: 198.18.0.3", "ring0_addr: fd00:198:18::3")], ("ring0_addr: fd00:198:18::3", "ring0_addr: 198.18.0.3"), []),
    ("E125-no-interfaces", [("        ring0_addr: 198.18.0.1\n", ""), ("        ring0_addr: 198.18.0.2\n", ""), ("        ring0_addr: 198.18.0.3\n", "")], ("        name: node1\n", "        name: node1\n        ring0_addr: 198.18.0.1\n"), ["E126"]),
    ("E126-local-node-not-found", [("ring0_addr: 198.18.0.1", "ring0_addr: 198.18.0.11")], ("198.18.0.11", "198.18.0.1"), []),
    ("E127-no-multicast-address", udp() + [("    cluster_name: qv\n", "")], ("    version: 2\n", "    version: 2\n    cluster_name: qv\n"), []),
    ("E128-ttl-without-multicast", totem("    interface {\n        linknumber: 0\n        ttl: 2\n    }\n"), ("ttl: 2", "ttl: 1"), []),
    ("E129-link-priority-without-knet", udpu() + totem("    interface {\n        linknumber: 0\n        knet_link_priority: 2\n    }\n"), ("knet_link_priority: 2", "knet_link_priority: 1"), []),
    ("E130-invalid-multicast-address", udp() + totem("    interface {\n        linknumber: 0\n        mcastaddr: 198.18.0.9\n    }\n"), ("mcastaddr: 198.18.0.9", "mcastaddr: 239.192.1.1"), []),
    ("E131-unsupported-totem-version", [("version: 2", "version: 3")], ("version: 3", "version: 2"), []),
    ("E132-timeout-too-small", totem("    token_coefficient: 0\n    token: 125\n"), ("token: 125", "token: 126"), []),
    ("E133-multi-link-without-name", TWO_LINKS + [("        name: node2\n", "")], ("        nodeid: 2\n", "        name: node2\n        nodeid: 2\n"), []),
    ("E134-uneven-link-count", TWO_LINKS + [("\n        ring1_addr: 198.18.1.3", "")], ("ring0_addr: 198.18.0.3", "ring0_addr: 198.18.0.3\n        ring1_addr: 198.18.1.3"), []),
    ("E135-mixed-ip-families", [("ring0_addr: 198.18.0.3", "ring0_addr: fd00:198:18::3")], ("ring0_addr: fd00:198:18::3", "ring0_addr: 198.18.0.3"), []),
    ("E136-duplicate-nodeid", [("nodeid: 3", "nodeid: 2")], ("        nodeid: 2\n        ring0_addr: 198.18.0.3", "        nodeid: 3\n        ring0_addr: 198.18.0.3"), []),
    ("E137-invalid-link-mode", totem("    link_mode: failover\n"), ("link_mode: failover", "link_mode: active"), []),
    ("E138-too-many-links", udpu() + TWO_LINKS, ("transport: udpu", "transport: knet"), []),
    ("E139-crypto-without-knet", [("transport: knet", "transport: udpu")], ("transport: udpu", "transport: knet"), []),
    ("E140-link-without-port", [("ring0_addr: 198.18.0.3", "ring0_addr: 198.18.0.3\n        ring1_addr: 198.18.1.3")], ("\n        ring1_addr: 198.18.1.3", ""), ["E134"]),
    ("E201-invalid-quorum-provider", [("provider: corosync_votequorum", "provider: corosync_quorum")], ("provider: corosync_quorum", "provider: corosync_votequorum"), []),
    ("E202-two-node-with-device", quorum("    two_node: 1\n" + DEVICE), ("two_node: 1", "two_node: 0"), []),
    ("E203-atb-lms-odd-cluster", quorum("    auto_tie_breaker: 1\n    last_man_standing: 1\n"), ("last_man_standing: 1", "last_man_standing: 1\n    wait_for_all: 1"), []),
    ("E204-device-with-last-man-standing", quorum("    last_man_standing: 1\n" + DEVICE), ("last_man_standing: 1", "last_man_standing: 0"), []),
    ("E205-device-with-auto-tie-breaker", quorum("    auto_tie_breaker: 1\n    wait_for_all: 1\n" + DEVICE), ("auto_tie_breaker: 1", "auto_tie_breaker: 0"), []),
    ("E206-device-with-allow-downscale", quorum("    allow_downscale: 1\n" + DEVICE), ("allow_downscale: 1", "allow_downscale: 0"), []),
    ("E207-device-votes-required-by-expected-votes", quorum("    expected_votes: 5\n" + DEVICE), ("model: net", "model: net\n        votes: 2"), []),
    ("E208-device-votes-required-by-unequal-votes", quorum(DEVICE) + [("nodeid: 2", "nodeid: 2\n        quorum_votes: 2")], ("model: net", "model: net\n        votes: 1"), []),
    ("E209-device-votes-too-high", quorum("    expected_votes: 3\n" + DEVICE.replace("model: net", "model: net\n        votes: 2")), ("expected_votes: 3", "expected_votes: 4"), []),
]

LOG_PREFIX = re.compile(r"^\w{3} +\d+ [\d:.]+ +\w+ +\[[A-Z ]+\] ")


def corosync_t(text):
    """Runs `corosync -t` on text; returns (rc as a shell reports it, output lines)."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as handle:
        handle.write(text)
        path = handle.name
    try:
        result = subprocess.run(["ip", "netns", "exec", NETNS, "corosync", "-t", "-c", path],
                                capture_output=True, text=True, check=False)
    finally:
        os.unlink(path)
    rc = result.returncode if result.returncode >= 0 else 128 - result.returncode
    lines = []
    for line in (result.stdout + result.stderr).splitlines():
        line = LOG_PREFIX.sub("", line).replace(path, "<file>")
        if "exiting" not in line and line.strip():
            lines.append(line)
    return rc, lines


def vqsim_errors(text):
    """votequorum's startup refusals, as corosync-vqsim (real votequorum.c) prints them."""
    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "c.conf"), "w") as handle:
            handle.write(text)
        result = subprocess.run(["corosync-vqsim", "-c", "c.conf"], cwd=directory, input="show\nshow\nq\n",
                                capture_output=True, text=True, timeout=60, check=False)
    prefix = "votequorum exec init failed: "
    return sorted({line[len(prefix):] for line in (result.stdout + result.stderr).splitlines() if line.startswith(prefix)})


def daemon_start(text):
    """Starts the real corosync daemon on text in a private mount namespace (own /run and
    state directory) inside NETNS. Returns (exit status, startup refusal reason or None);
    status 124 means it was still running when stopped after a few seconds."""
    with tempfile.TemporaryDirectory() as directory:
        conf = os.path.join(directory, "corosync.conf")
        with open(conf, "w") as handle:
            handle.write(text)
        for sub in ("lib", "log"):
            os.mkdir(os.path.join(directory, sub))
        script = (f"mount -t tmpfs tmpfs /run && mount --bind {directory}/lib /var/lib/corosync && "
                  f"mount --bind {directory}/log /var/log/corosync && exec timeout 6 corosync -f -c {conf}")
        result = subprocess.run(["ip", "netns", "exec", NETNS, "unshare", "-m", "--propagation", "private",
                                 "sh", "-c", script], capture_output=True, text=True, check=False)
    match = re.search(r"failed to load for reason '(.*)'", result.stdout + result.stderr)
    return result.returncode, match.group(1) if match else None


def main():
    failures = 0
    for name, edits, fix, also in CASES:
        text = BASE
        for old, new in edits:
            assert old in text, (name, old)
            text = text.replace(old, new, 1)
        assert fix[0] in text, (name, fix)
        fixed = text.replace(fix[0], fix[1], 1)
        # Run on the file as stored (header comments included) so line numbers match.
        header_lines = 3 + (1 if also else 0) + (1 if name.startswith("E2") else 0)
        rc, lines = corosync_t("#\n" * header_lines + text)
        fixed_rc, fixed_lines = corosync_t(fixed)
        header = [f"# corosync -t: rc={rc} {' | '.join(lines)}".rstrip()]
        if name.startswith("E2"):
            status, reason = daemon_start(text)
            fixed_status, fixed_reason = daemon_start(fixed)
            errors = vqsim_errors(text)
            header.append(f"# corosync startup: exit {status}, {reason}")
            ok = (rc == 0 and fixed_rc == 0 and status == 20 and fixed_status == 124 and fixed_reason is None
                  and not vqsim_errors(fixed) and (not errors or errors[0] == reason))
        else:
            ok = rc != 0 and fixed_rc == 0
        escape = lambda s: s.replace("\n", "\\n")
        header.append(f"# fix: {escape(fix[0])} => {escape(fix[1])}")
        if also:
            header.append(f"# also: {' '.join(also)}")
        header.append("# host: local node 198.18.0.1; /etc/corosync/authkey 256 bytes, "
                      "/etc/corosync/authkey-short 100 bytes, /etc/corosync/authkey-missing absent")
        with open(os.path.join(HERE, name + ".conf"), "w") as handle:
            handle.write("\n".join(header) + "\n" + text)
        print(("ok  " if ok else "BAD ") + name + ": " + header[0] + (f" / fixed rc={fixed_rc} {fixed_lines}" if not ok else ""))
        failures += 0 if ok else 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
