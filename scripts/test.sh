#!/usr/bin/env bash
# Runs the whole quorate test suite on a fresh Debian machine, installing what it needs.
# Real corosync, corosync-vqsim, corosync-qnetd/qdevice and sshd are exercised inside network namespaces that the
# tests create and remove themselves; this needs root (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v corosync >/dev/null 2>&1 || need+=(corosync)
command -v corosync-vqsim >/dev/null 2>&1 || need+=(corosync-vqsim)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v corosync-qnetd >/dev/null 2>&1 || need+=(corosync-qnetd)
command -v corosync-qdevice >/dev/null 2>&1 || need+=(corosync-qdevice)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: need root to install ${need[*]} (apt-get); run as root or install them first" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test" >&2
cargo test --workspace --all-targets
