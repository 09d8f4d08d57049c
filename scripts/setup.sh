#!/bin/bash
# Sets up everything on a fresh Debian machine (as root), idempotently:
#   Debian's docker.io + debootstrap + chromium, a running dockerd, .venv with swe_harness and
#   its test, train, ray and report extras, the registry-free base image and the images of the
#   bundled tasks; then Podman's Docker-compatible service with the same images in its store.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v chromium >/dev/null || need+=(chromium)  # renders the run report page in its test
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

docker_up() { /usr/bin/docker info >/dev/null 2>&1 || docker info >/dev/null 2>&1; }
if ! docker_up; then
  log "starting dockerd (--bridge=none --iptables=false)"
  # containers run with network none; builds use the host network
  nohup dockerd --bridge=none --iptables=false >/var/log/swe-harness-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker_up && break; sleep 1; done
  docker_up || { log "dockerd did not start; see /var/log/swe-harness-dockerd.log"; exit 1; }
fi

if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
log "installing swe_harness into .venv"
.venv/bin/pip install -q -e '.[test,train,ray,report]'

log "building the base image and the bundled task images (cached after the first run)"
.venv/bin/python -m swe_harness images tasks/

log "Podman's Docker-compatible service and the same images in its own store (tests/test_podman.py)"
bash scripts/podman.sh
DOCKER_HOST=unix:///run/podman/podman.sock .venv/bin/python -m swe_harness images tasks/
