#!/bin/bash
# Podman's Docker-compatible service for the Podman tests (tests/test_podman.py), idempotently:
# Debian's podman (+ catatonit, its `--init`), a containers.conf, and
#   podman system service --time=0 unix:///run/podman/podman.sock
# Use it with DOCKER_HOST=unix:///run/podman/podman.sock. Podman keeps its own image store
# (/var/lib/containers): the base and task images are built once more there, then cached.
set -euo pipefail

SOCK=/run/podman/podman.sock
CONF=/run/podman/swe-harness-containers.conf
log() { printf '\033[1m[podman]\033[0m %s\n' "$*"; }

need=()
command -v podman >/dev/null || need+=(podman)
[ -e /usr/libexec/podman/catatonit ] || need+=(catatonit)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

up() { podman --remote --url "unix://$SOCK" version >/dev/null 2>&1; }
if up; then exit 0; fi

mkdir -p /run/podman
# Rootful Podman gives containers nofile/nproc limits above what this (unprivileged-root)
# machine lets runc set ("error setting rlimit type 6/7: operation not permitted"). Take the
# limits a Podman process really has, from a short-lived probe service, as the containers'.
probe=$(mktemp -u /tmp/swe-podman-probe.XXXXXX.sock)
podman system service --time=30 "unix://$probe" & pid=$!
for _ in $(seq 1 60); do [ -S "$probe" ] && break; sleep 0.5; done  # up: its limits are set
nofile=$(awk '/Max open files/ {print $5}' "/proc/$pid/limits")
nproc=$(awk '/Max processes/ {print $4}' "/proc/$pid/limits")
kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$probe"
cat >"$CONF" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
CONF

log "starting podman system service on $SOCK"
CONTAINERS_CONF="$CONF" nohup podman system service --time=0 "unix://$SOCK" \
  >/var/log/swe-harness-podman.log 2>&1 &
for _ in $(seq 1 30); do up && break; sleep 1; done
up || { log "podman did not start; see /var/log/swe-harness-podman.log"; exit 1; }
