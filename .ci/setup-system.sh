#!/usr/bin/env bash
# Installs the system parts the tests use for real: a Docker engine (started here, with an image
# imported from Debian's busybox-static since no registry is reachable), bubblewrap, Chromium for
# the web tests, diod's 9P client tools, and the libraries of the original OCaml programs in
# ../shared/peer/bin (libev4, libgmp10; curl for their --upload) that the interop tests run, and gcc (the build compiles the job launcher, sandbox/job-launcher.c; the web tests compile a freestanding ELF binary with symbols). Idempotent: safe to run on a machine that has them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(docker.io busybox-static bubblewrap chromium diod shellcheck ca-certificates libev4 libgmp10 curl gcc)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash "$(dirname "$0")/start-docker.sh"
