#!/usr/bin/env bash
# TEST-ONLY. Assembles, without any registry, an image equivalent to the one deploy/Dockerfile builds:
# - the base stands in for node:20-bookworm-slim: a root file system imported from this host's files (its node
#   binary with the shared libraries ldd lists, busybox for /bin/sh and the tools jobs use, a `node` user 1000);
# - the runtime stage of deploy/Dockerfile is then applied to it as written, with the local checkout (dist/
#   built, production node_modules) in place of the build stage's `npm ci`.
# Users build deploy/Dockerfile; this script exists because CI cannot pull node:20.
#   bash test/swarm/assemble-image.sh [TAG]     (default builder-swarm-test:latest; prints the TAG)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:-builder-swarm-test:latest}
node_bin=$(command -v node)
base="builder-test-node:$("$node_bin" --version | tr -d v)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! docker image inspect "$base" >/dev/null 2>&1; then
  fs="$work/rootfs"
  mkdir -p "$fs/usr/local/bin" "$fs/bin" "$fs/etc" "$fs/tmp" "$fs/home/node"
  cp "$node_bin" "$fs/usr/local/bin/node"
  for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
    mkdir -p "$fs$(dirname "$lib")"
    cp -L "$lib" "$fs$lib"
  done
  cp "$(command -v busybox)" "$fs/bin/busybox"
  for applet in $("$fs/bin/busybox" --list); do
    [ -e "$fs/bin/$applet" ] || ln -s busybox "$fs/bin/$applet"
  done
  mkdir -p "$fs/usr/bin" && ln -s /bin/env "$fs/usr/bin/env"
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$fs/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' >"$fs/etc/group"
  printf 'hosts: files dns\n' >"$fs/etc/nsswitch.conf"
  chown 1000:1000 "$fs/home/node"
  chmod 1777 "$fs/tmp"
  tar -C "$fs" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$base" >/dev/null
fi

# The checkout as `npm ci && npm prune --omit=dev` leaves it in the build stage.
(cd "$root" && node scripts/build.mjs --if-stale)
ctx="$work/ctx"
mkdir -p "$ctx/app/node_modules"
(cd "$root" && cp -a package.json package-lock.json bin dist src sandbox machines examples deploy "$ctx/app/")
(cd "$root" && npm ls --omit=dev --all --parseable 2>/dev/null) | while read -r dir; do
  rel=${dir#"$root"/}
  case $rel in
    node_modules/@*/*/node_modules/* | node_modules/[!@]*/node_modules/*) ;; # inside a package already copied
    node_modules/@*/*) mkdir -p "$ctx/app/$(dirname "$rel")" && cp -a "$dir" "$ctx/app/$rel" ;;
    node_modules/*) cp -a "$dir" "$ctx/app/$rel" ;;
  esac
done

# deploy/Dockerfile's runtime stage, its one build-stage reference replaced by the local copy.
stage=$(sed -n '/^FROM \${NODE_IMAGE} AS runtime$/,$p' "$root/deploy/Dockerfile")
grep -qx 'COPY --from=build /app /app' <<<"$stage" || { echo "deploy/Dockerfile: runtime stage without 'COPY --from=build /app /app'" >&2; exit 1; }
{
  echo 'ARG NODE_IMAGE'
  sed 's|^COPY --from=build /app /app$|COPY app /app|' <<<"$stage"
} >"$ctx/Dockerfile"
old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "NODE_IMAGE=$base" -t "$tag" "$ctx" >/dev/null
# the previous build, now untagged, is not kept (unless a container still uses it)
if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then docker image rm "$old" >/dev/null 2>&1 || true; fi
echo "$tag"
