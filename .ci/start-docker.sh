#!/usr/bin/env bash
# Starts dockerd in the background when none answers, and imports the busybox test image.
set -euo pipefail
IMAGE=${BUILDER_TEST_IMAGE:-builder-busybox:latest}
if ! docker info >/dev/null 2>&1; then
  mkdir -p /var/log
  # a pid file left by a dockerd that is gone (the machine was restarted under it) stops a new one from starting
  if [ -f /var/run/docker.pid ] && [ "$(cat "/proc/$(cat /var/run/docker.pid)/comm" 2>/dev/null)" != dockerd ]; then rm -f /var/run/docker.pid; fi
  nohup dockerd --iptables=false --bridge=none >/var/log/builder-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -n 30 /var/log/builder-dockerd.log; exit 1; }
fi
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/work"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  chmod 1777 "$root/tmp"
  tar -C "$root" -c . | docker import - "$IMAGE" >/dev/null
  rm -rf "$root"
fi
echo "docker engine up, image $IMAGE ready"
