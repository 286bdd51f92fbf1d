#!/usr/bin/env bash
# Makes the local Docker engine a single-node swarm manager (test/swarm-fleet.test.ts deploys deploy/swarm/ on it)
# and leaves it so. Idempotent. Loopback as the advertised address: the engine here has no bridge network.
set -euo pipefail
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
case $state in
  active) ;;
  inactive) docker swarm init --advertise-addr 127.0.0.1 >/dev/null ;;
  *) echo "docker swarm is '$state' here; expected active or inactive" >&2; exit 1 ;;
esac
echo "docker swarm active, node $(docker info --format '{{.Swarm.NodeID}}')"
