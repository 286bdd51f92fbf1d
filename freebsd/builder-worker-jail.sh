#!/bin/sh
# One build of builder's worker in a throw-away jail: clone the template snapshot to the jail's path, start the
# jail, run `builder worker PLATFORM` in it (one job, then exit, as the original worker), stop the jail and
# destroy the clone, whatever happened. daemon(8) -r runs it again for the next build (see rc.d/builder_worker).
#
# SIGTERM: the worker finishes its current job, then everything is torn down. A second SIGTERM kills the job.

set -eu

usage() {
    cat <<USAGE
usage: builder-worker-jail.sh -p PLATFORM -s POOL/DATASET@SNAPSHOT [-r HOST:PORT] [-j JAIL] [-f JAIL_CONF]
                              [-d PARENT_DATASET] [-b BUILDER] [-- WORKER_FLAGS...]

  -p PLATFORM      the platform the worker asks jobs for (required)
  -s SNAPSHOT      the ZFS snapshot of the jail template, e.g. zroot/builder/template@clean (required)
  -r HOST:PORT     the builder server (default: \$BUILDER_REMOTE, else 127.0.0.1:1234)
  -j JAIL          the jail's name, a block in JAIL_CONF (default builder_worker)
  -f JAIL_CONF     jail.conf holding the jail (default /usr/local/etc/builder/jail.conf)
  -d PARENT        the dataset under which the per-build clone is made (default: the snapshot's dataset parent)
  -b BUILDER       the builder executable inside the jail (default /usr/local/bin/builder)
  WORKER_FLAGS     more flags for the worker (e.g. --timeout 7200 --max-artifact-bytes 2g)
USAGE
}

platform=""
snapshot=""
remote="${BUILDER_REMOTE:-127.0.0.1:1234}"
jail_name="builder_worker"
jail_conf="/usr/local/etc/builder/jail.conf"
parent=""
builder="/usr/local/bin/builder"

while getopts "p:s:r:j:f:d:b:h" opt; do
    case "$opt" in
        p) platform="$OPTARG" ;;
        s) snapshot="$OPTARG" ;;
        r) remote="$OPTARG" ;;
        j) jail_name="$OPTARG" ;;
        f) jail_conf="$OPTARG" ;;
        d) parent="$OPTARG" ;;
        b) builder="$OPTARG" ;;
        h) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

if [ -z "$platform" ] || [ -z "$snapshot" ]; then
    echo "builder-worker-jail.sh: -p PLATFORM and -s SNAPSHOT are required" >&2
    usage >&2
    exit 2
fi
case "$snapshot" in
    *@*) ;;
    *) echo "builder-worker-jail.sh: $snapshot is not a snapshot (DATASET@NAME)" >&2; exit 2 ;;
esac
case "$jail_name" in
    *[!A-Za-z0-9_]*|"") echo "builder-worker-jail.sh: bad jail name: $jail_name" >&2; exit 2 ;;
esac
if [ -z "$parent" ]; then
    parent="${snapshot%@*}"
    parent="${parent%/*}"
fi

dataset="${parent}/${jail_name}-build"
root="/var/jails/${jail_name}"
child=""
stopping=0

log() {
    logger -t builder-worker-jail -- "$jail_name: $*" 2>/dev/null || true
    echo "builder-worker-jail: $jail_name: $*" >&2
}

# Run by the traps below.
# shellcheck disable=SC2317
teardown() {
    status=$?
    trap - EXIT INT TERM
    if jls -j "$jail_name" jid >/dev/null 2>&1; then
        jail -f "$jail_conf" -r "$jail_name" >/dev/null 2>&1 || jail -r "$jail_name" >/dev/null 2>&1 || true
    fi
    umount -f "${root}/dev" >/dev/null 2>&1 || true
    if zfs list -H -o name "$dataset" >/dev/null 2>&1; then
        zfs destroy -r -f "$dataset" || log "could not destroy $dataset"
    fi
    exit "$status"
}

# shellcheck disable=SC2317
on_signal() {
    if [ -z "$child" ]; then
        exit 143
    fi
    stopping=$((stopping + 1))
    # The first TERM lets the worker finish its job; the second makes it kill the job.
    kill -TERM "$child" 2>/dev/null || true
}

trap teardown EXIT
trap on_signal INT TERM

# A clone left by a build that was killed outright goes first.
if zfs list -H -o name "$dataset" >/dev/null 2>&1; then
    log "removing the leftover $dataset"
    jail -r "$jail_name" >/dev/null 2>&1 || true
    umount -f "${root}/dev" >/dev/null 2>&1 || true
    zfs destroy -r -f "$dataset"
fi

zfs clone -o mountpoint="$root" -o setuid=off -o exec=on "$snapshot" "$dataset"
jail -f "$jail_conf" -c "$jail_name"
log "jail up on $dataset, asking $remote for a $platform job"

# In the background, so that a signal is handled while the worker runs (sh defers traps during a foreground job).
jexec -l "$jail_name" "$builder" worker "$platform" -r "$remote" --sandbox process --network "$@" &
child=$!
worker_status=0
while :; do
    if wait "$child"; then
        worker_status=0
        break
    else
        worker_status=$?
    fi
    # wait returns early (status > 128) when a trapped signal arrives: keep waiting while the worker runs.
    if ! kill -0 "$child" 2>/dev/null; then
        break
    fi
done
child=""
log "worker exited with status $worker_status (signals received: $stopping)"
exit "$worker_status"
