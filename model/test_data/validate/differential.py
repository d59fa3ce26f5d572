#!/usr/bin/env python3
"""Differential test of `model::validate` against the real corosync 3.1.7.

Builds random variants of the regenerate.py base config (1 to 5 mutations each), runs
`corosync -t` on each inside network namespace NETNS, and checks that our validator agrees:
rc=0 exactly when we report no `corosync -t` error, and otherwise corosync's message is the
help of one of our diagnostics. A second pass checks the startup refusals against
corosync-vqsim (real votequorum.c). Same prerequisites as regenerate.py; it builds a small
helper crate outside the workspace (in a temporary directory).

Usage: differential.py [SEED] [COUNT] [NETNS]
"""
import json, os, random, re, subprocess, sys, tempfile
import importlib.util

ARGS = sys.argv[1:]
SEED = int(ARGS[0]) if ARGS else 1
COUNT = int(ARGS[1]) if len(ARGS) > 1 else 200
NETNS = ARGS[2] if len(ARGS) > 2 else "qv1"
HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("regen", os.path.join(HERE, "regenerate.py"))
regen = importlib.util.module_from_spec(spec)
sys.argv = [sys.argv[0], NETNS]
spec.loader.exec_module(regen)
BASE = regen.BASE
MODEL = os.path.dirname(HERE.rstrip("/").rsplit("/test_data", 1)[0] + "/x")

HELPER = r'''use model::config::Config;
use model::validate::{validate, AuthkeyFacts, HostFacts};
fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap();
        let (document, mut diags) = model::syntax::parse(&text);
        let (config, _) = Config::from_document(&document);
        let authkey = config.authkey_path().map(|p| {
            let len = std::fs::metadata(p.replacen("/etc/", "/etc/netns/NETNS/", 1)).ok().map(|m| m.len());
            AuthkeyFacts { os_error: len.is_none().then(|| "No such file or directory".to_string()), path: p, len }
        });
        let host = HostFacts { local_node: Some("198.18.0.1".into()), authkey, hosts: None };
        diags.extend(validate(&document, &config, &host));
        let out: Vec<_> = diags.iter().filter(|d| d.severity == model::Severity::Error || d.rejected_by.is_some()).map(|d| serde_json::json!({"code": d.code, "help": d.help, "by": d.rejected_by.map(|b| b.as_str())})).collect();
        println!("{}\t{}", path, serde_json::to_string(&out).unwrap());
    }
}
'''


def build_helper():
    directory = os.path.join(tempfile.gettempdir(), "quorate-validate-differential")
    os.makedirs(os.path.join(directory, "src"), exist_ok=True)
    with open(os.path.join(directory, "Cargo.toml"), "w") as handle:
        handle.write('[package]\nname = "qvdiff"\nversion = "0.1.0"\nedition = "2021"\n\n'
                     f'[dependencies]\nmodel = {{ path = "{MODEL}" }}\nserde_json = "1"\n\n[workspace]\n')
    with open(os.path.join(directory, "src", "main.rs"), "w") as handle:
        handle.write(HELPER.replace("NETNS", NETNS))
    subprocess.run(["cargo", "build", "-q"], cwd=directory, check=True,
                   env=dict(os.environ, CARGO_TARGET_DIR=os.path.join(directory, "target")))
    return os.path.join(directory, "target", "debug", "qvdiff")


def sub(old, new):
    return lambda t: t.replace(old, new, 1) if old in t else t
def tot(extra): return sub('    version: 2\n', '    version: 2\n' + extra)
def quo(extra): return sub('    provider: corosync_votequorum\n', '    provider: corosync_votequorum\n' + extra)
def iface(body): return tot('    interface {\n' + body + '    }\n')
M = [
 sub('transport: knet','transport: udpu'), sub('transport: knet','transport: udp'),
 sub('transport: knet','transport: sctp'),
 sub('    crypto_cipher: aes256\n    crypto_hash: sha256\n', ''),
 sub('crypto_hash: sha256','crypto_hash: none'), sub('crypto_cipher: aes256','crypto_cipher: none'),
 tot('    secauth: on\n'), tot('    secauth: off\n'),
 sub('keyfile: /etc/corosync/authkey','keyfile: /etc/corosync/authkey-short'),
 sub('    keyfile: /etc/corosync/authkey\n',''),
 sub('keyfile: /etc/corosync/authkey','key: ' + 'x'*130),
 sub('        nodeid: 1\n',''), sub('        nodeid: 2\n',''), sub('        nodeid: 3\n',''),
 sub('nodeid: 3','nodeid: 2'), sub('nodeid: 2','nodeid: 70000'), sub('nodeid: 2','nodeid: 0'),
 sub('nodeid: 3','nodeid: x'),
 sub('ring0_addr: 198.18.0.3','ring0_addr: fd00:198:18::3'),
 sub('ring0_addr: 198.18.0.2','ring0_addr: fd00:198:18::2'),
 sub('ring0_addr: 198.18.0.3','ring1_addr: 198.18.1.3'),
 sub('ring0_addr: 198.18.0.2','ring0_addr: 198.18.0.2\n        ring1_addr: 198.18.1.2'),
 sub('ring0_addr: 198.18.0.1','ring0_addr: 198.18.0.1\n        ring1_addr: 198.18.1.1'),
 sub('ring0_addr: 198.18.0.3','ring0_addr: 198.18.0.3\n        ring1_addr: 198.18.1.3'),
 sub('ring0_addr: 198.18.0.3','ring0_addr: 198.18.0.3\n        ring9_addr: 198.18.9.3'),
 sub('        name: node2\n',''), sub('        name: node1\n',''),
 sub('ring0_addr: 198.18.0.1','ring0_addr: 198.18.0.77'),
 tot('    ip_version: ipv4\n'), tot('    ip_version: ipv6\n'), tot('    ip_version: ipv4-6\n'),
 tot('    link_mode: active\n'), tot('    link_mode: bogus\n'),
 sub('version: 2','version: 1'), sub('    version: 2\n', '    cluster_name: x\n'),
 tot('    token: 20\n'), tot('    token: 100\n'), tot('    token_coefficient: 0\n'), tot('    token_retransmit: 20\n'),
 tot('    hold: 10\n'), tot('    join: 20\n'), tot('    consensus: 40\n'), tot('    merge: 10\n'), tot('    downcheck: 10\n'),
 tot('    max_network_delay: 10\n'), tot('    token_warning: 150\n'), tot('    token_retransmits_before_loss_const: 30\n'),
 tot('    config_version: -1\n'), tot('    config_version: x\n'), tot('    netmtu: 1500\n'),
 iface('        linknumber: 0\n        ttl: 5\n'), iface('        linknumber: 0\n        knet_link_priority: 5\n'),
 iface('        linknumber: 1\n        knet_link_priority: 5\n'), iface('        linknumber: 0\n        mcastaddr: 239.192.7.7\n'),
 iface('        linknumber: 0\n        mcastaddr: 198.18.7.7\n'), iface('        linknumber: 0\n        bindnetaddr: 198.18.0.0\n'),
 iface('        linknumber: 2\n        bindnetaddr: 198.18.2.0\n'), iface('        linknumber: 0\n        knet_transport: sctp\n'),
 iface('        linknumber: 0\n        knet_transport: foo\n'), iface('        linknumber: 9\n        mcastport: 5000\n'),
 iface('        linknumber: 0\n        mcastport: 0\n'), iface('        linknumber: 0\n        broadcast: yes\n'),
 iface('        linknumber: 0\n        knet_ping_interval: 10\n        knet_ping_timeout: 5\n'),
 iface('        ringnumber: 1\n        ttl: 3\n'),
 quo('    two_node: 1\n'), quo('    expected_votes: 5\n'), quo('    wait_for_all: 1\n'), quo('    last_man_standing: 1\n'),
 quo('    auto_tie_breaker: 1\n'), quo('    auto_tie_breaker_node: 0 1\n'), quo('    allow_downscale: 1\n'),
 quo(regen.DEVICE), quo('    device {\n        model: net\n        votes: 3\n    }\n'),
 sub('nodeid: 2','nodeid: 2\n        quorum_votes: 2'),
 sub('provider: corosync_votequorum','provider: corosync_ykd'), sub('provider: corosync_votequorum','provider: foo'),
 sub('    provider: corosync_votequorum\n',''),
 sub('to_syslog: yes','to_syslog: maybe'), sub('to_syslog: yes','timestamp: hires'),
 sub('logging {','system {\n    sched_rr: maybe\n}\nlogging {'),
 sub('nodelist {','nodelist {\n    node {\n        name: node9\n        nodeid: 9\n        ring0_addr: 198.18.0.9\n    }\n}\nnodelist {'),
 sub('quorum {','nodelist {\n    node {\n        name: node9\n        nodeid: 9\n        ring0_addr: 198.18.0.9\n    }\n}\nquorum {'),
 sub('        name: node2\n','        name: node2\n        sub {\n        }\n'),
 sub('totem {','totem {\n    interface {\n        linknumber: 0\n        member {\n            memberaddr: 198.18.0.2\n        }\n    }'),
 sub('        name: node3\n','        name: node3\n        ring0_addr: node3.invalid\n'),
 iface('        linknumber: 1\n        bindnetaddr: 198.18.1.0\n'), iface('        linknumber: 0\n        mcastaddr: ff15::1\n'),
 iface('        linknumber: 0\n        mcastaddr: 239.192.0.1\n        mcastport: 6000\n        ttl: 1\n'),
 iface('        linknumber: 1\n        mcastaddr: 239.192.0.2\n'), iface('        linknumber: 0\n        broadcast: yes\n        mcastport: 6000\n'),
 iface('        linknumber: 0\n        bindnetaddr: fd00::\n'), iface('        linknumber: 0\n        bindnetaddr: 10.0.0.0\n'),
 sub('to_syslog: yes','to_syslog: yes\n    logging_daemon {\n        name: corosync\n        debug: x\n    }'),
 sub('to_syslog: yes','to_syslog: yes\n    logging_daemon {\n        name: other\n        debug: x\n    }'),
 sub('to_syslog: yes','to_syslog: yes\n    logging_daemon {\n        debug: on\n    }'),
 sub('to_syslog: yes','to_syslog: yes\n    logging_daemon {\n        name: corosync\n        subsys: QUORUM\n        syslog_facility: x\n    }'),
 tot('    ip_version: ipv6-4\n'), tot('    transport: udp\n'),
 quo('    device {\n        model: \n    }\n'), quo('    device {\n        votes: 1\n    }\n'),
 sub('resources', 'resources'), sub('logging {', 'resources {\n    watchdog_timeout: 5\n    system {\n        memory_used {\n            poll_period: 100\n        }\n    }\n}\nlogging {'),
 sub('        name: node1\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n', '        nodeid: 1\n        ring1_addr: 198.18.1.1\n'),
 sub('        name: node1\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n', '        nodeid: 1\n'),
 sub('        name: node1\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n', '        name: node1\n'),
 sub('        nodeid: 1\n        ring0_addr: 198.18.0.1\n', '        nodeid: 1\n        ring0_addr: 198.18.0.1\n        extra {\n        }\n'),
]

def many(t):
    nodes = ''.join(f"    node {{\n        name: node{i}\n        nodeid: {i}\n        ring0_addr: 198.18.0.{i}\n    }}\n" for i in range(4, 13))
    return t.replace('nodelist {\n', 'nodelist {\n' + nodes, 1)
M += [
 many, many, sub('nodeid: 3','nodeid: 12'),
 tot('    nodeid: 1\n'), tot('    clear_node_high_bit: yes\n'),
 sub('        name: node3\n','        name: node3\n        ring1_addr: 198.18.1.3\n'),
 iface('        linknumber: 1\n        mcastport: 6000\n'),
 sub('quorum {','nodelist {\n    node {\n        name: node1\n        nodeid: 1\n        ring0_addr: 198.18.0.1\n    }\n}\nquorum {'),
 sub('ring0_addr: 198.18.0.3','ring0_addr: 198.18.0.2'),
 sub('logging {','uidgid {\n    gid: root\n}\nlogging {'),
 sub('to_syslog: yes','to_syslog: yes\n    logger_subsys {\n        subsys: QUORUM\n        debug: on\n    }'),
 sub('to_syslog: yes','to_syslog: yes\n    logger_subsys {\n        debug: on\n    }'),
 tot('    consensus: 45\n    join: 60\n'), tot('    token: 30\n    token_coefficient: 0\n'),
 tot('    token: 200\n    token_coefficient: 0\n    token_retransmits_before_loss_const: 10\n'),
 sub('        name: node1\n','        name: node1\n        ring2_addr: 198.18.2.1\n'),
 tot('    knet_compression_model: zlib\n    knet_compression_level: -1\n'),
 tot('    crypto_model: openssl\n'),
 iface('        linknumber: 0\n        knet_pong_count: 0\n'),
 sub('ring0_addr: 198.18.0.2', 'ring0_addr: 3323068418'), sub('ring0_addr: 198.18.0.2', 'ring0_addr: 198.18.0.266'),
 sub('nodeid: 1\n', 'nodeid: 1\n        quorum_votes: 0\n'),
]


Q = [
 quo('    two_node: 1\n'), quo('    expected_votes: 5\n'), quo('    expected_votes: 3\n'), quo('    wait_for_all: 1\n'), quo('    wait_for_all: 0\n'),
 quo('    last_man_standing: 1\n'), quo('    auto_tie_breaker: 1\n'), quo('    auto_tie_breaker_node: 0 1\n'), quo('    auto_tie_breaker_node: highest\n'),
 quo('    allow_downscale: 1\n'), quo(regen.DEVICE), quo('    device {\n        model: net\n        votes: 3\n    }\n'),
 quo('    device {\n        model: net\n        votes: 1\n    }\n'), quo('    device {\n        model: \n    }\n'),
 sub('nodeid: 2','nodeid: 2\n        quorum_votes: 2'), sub('nodeid: 3','nodeid: 3\n        quorum_votes: 0'),
 sub('ring0_addr: 198.18.0.3','ring1_addr: 198.18.0.3'),
 sub('nodelist {','nodelist {\n    node {\n        name: node4\n        nodeid: 4\n        ring0_addr: 198.18.0.4\n    }'),
]

def ours(helper, texts):
    directory = tempfile.mkdtemp()
    paths = []
    for number, text in enumerate(texts):
        path = os.path.join(directory, f"c{number}.conf")
        with open(path, "w") as handle:
            handle.write(text)
        paths.append(path)
    result = subprocess.run([helper] + paths, capture_output=True, text=True, check=True)
    by_path = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    return [json.loads(by_path[path]) for path in paths]


WARNINGS = ("interface section bindnetaddr", "Please migrate", "member section", "nodeid in totem")


def main():
    helper = build_helper()
    random.seed(SEED)
    texts = []
    for _ in range(COUNT):
        text = BASE
        for index in random.sample(range(len(M)), random.choice([1, 2, 2, 3, 3, 4, 5])):
            text = M[index](text)
        texts.append(text)
    mismatches = 0
    for text, diagnostics in zip(texts, ours(helper, texts)):
        rc, lines = regen.corosync_t(text)
        refused = [d for d in diagnostics if d["by"] == "corosync -t"]
        if rc == 0:
            ok = not refused
        else:
            errors = [line for line in lines if not line.startswith(WARNINGS)]
            message = errors[-1] if errors else ""
            helps = {d["help"] for d in refused}
            ok = "corosync -t: " + message in helps or \
                "corosync -t: " + re.sub(r"<file>:\d+:", "<file>:<line>:", message) in helps
        if not ok:
            mismatches += 1
            print("MISMATCH corosync -t", rc, lines, [(d["code"], d["help"]) for d in refused])
            print(text)
    startup_texts = []
    for _ in range(COUNT // 4):
        text = BASE
        for index in random.sample(range(len(Q)), random.choice([1, 2, 2, 3, 3, 4])):
            text = Q[index](text)
        startup_texts.append(text)
    for text, diagnostics in zip(startup_texts, ours(helper, startup_texts)):
        if regen.corosync_t(text)[0] != 0:
            continue
        errors = regen.vqsim_errors(text)
        mine = [d["help"][len("corosync startup: "):] for d in diagnostics if d["by"] == "corosync startup"]
        if not ((not errors and not mine) or (errors and errors[0] in mine)):
            mismatches += 1
            print("MISMATCH startup", errors, mine)
            print(text)
    print(f"seed {SEED}: {COUNT} corosync -t cases, {len(startup_texts)} startup cases, {mismatches} mismatches")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
