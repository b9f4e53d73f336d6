#!/usr/bin/env bash
# Installs the Debian packages ebsim uses (idempotent: does nothing when all are present).
#   fuse, libfuse2   the FUSE block device (fuse-native loads Debian's libfuse2)
#   e2fsprogs        mkfs.ext4 / e2fsck for volumes;  util-linux: losetup, mount
#   awscli           the real AWS CLI, driven against `ebsim serve` in the tests
#   fio              I/O verification and the device benchmark;  gocryptfs: the benchmark's peer
#   openssl          `openssl speed`, the reference in the XTS benchmark
#   python3-boto3    a third real client in the HTTP endpoint tests;  chromium: the console page test
set -euo pipefail
PACKAGES=(fuse libfuse2 e2fsprogs util-linux awscli fio gocryptfs openssl python3-boto3 chromium)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ebsim: missing Debian packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
