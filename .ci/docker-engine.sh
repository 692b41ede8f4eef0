# Sourced by .ci/run: a private Docker engine and a locally built Python base image for the
# image tests (issue 8). Images cannot be pulled on CI machines, so the base is built with
# debootstrap from Debian's package mirror and imported; its rootfs tarball is cached in .cache/.
#
# The engine must not create a bridge or touch iptables (shared machine): builds run with
# network "none" and test containers with host networking bound to 127.0.0.1.
# Functions only; the caller decides when to start and stop (trap) the engine.

MLPLAT_ENGINE_DIR="${MLPLAT_ENGINE_DIR:-${TMPDIR:-/tmp}/mlplat-dockerd-$$}"
# The data root (images, layer cache) persists in .cache/ so repeat runs build from cache.
MLPLAT_ENGINE_DATA="${MLPLAT_ENGINE_DATA:-$PWD/.cache/mlplat-dockerd}"
MLPLAT_BASE_TAG="${MLPLAT_BASE_TAG:-mlplat-base:test}"
MLPLAT_BASE_CACHE="${MLPLAT_BASE_CACHE:-.cache/mlplat-base/bookworm-minbase-rootfs.tar}"

mlplat_engine_start() {
  mkdir -p "$MLPLAT_ENGINE_DIR"
  dockerd --data-root "$MLPLAT_ENGINE_DATA" --exec-root "$MLPLAT_ENGINE_DIR/exec" \
    --host "unix://$MLPLAT_ENGINE_DIR/docker.sock" --pidfile "$MLPLAT_ENGINE_DIR/dockerd.pid" \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    >"$MLPLAT_ENGINE_DIR/dockerd.log" 2>&1 &
  MLPLAT_DOCKERD_PID=$!
  export DOCKER_HOST="unix://$MLPLAT_ENGINE_DIR/docker.sock"
  for _ in $(seq 60); do
    if docker version >/dev/null 2>&1; then echo "== dockerd $MLPLAT_DOCKERD_PID ready at $DOCKER_HOST"; return 0; fi
    if ! kill -0 "$MLPLAT_DOCKERD_PID" 2>/dev/null; then break; fi
    sleep 1
  done
  echo "dockerd did not start; its log:" >&2
  tail -n 50 "$MLPLAT_ENGINE_DIR/dockerd.log" >&2
  return 1
}

mlplat_engine_stop() {
  if [ -n "${MLPLAT_DOCKERD_PID:-}" ] && kill -0 "$MLPLAT_DOCKERD_PID" 2>/dev/null; then
    kill -TERM "$MLPLAT_DOCKERD_PID"
    for _ in $(seq 30); do kill -0 "$MLPLAT_DOCKERD_PID" 2>/dev/null || break; sleep 1; done
  fi
  # dockerd leaves its default netns mounted in the exec root: unmount what is under our own
  # directory, then remove it only if nothing is mounted there any more.
  local mnt
  for mnt in $(awk -v d="$MLPLAT_ENGINE_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$mnt" 2>/dev/null || true
  done
  if ! grep -qF "$MLPLAT_ENGINE_DIR/" /proc/mounts; then rm -rf "$MLPLAT_ENGINE_DIR"; fi
}

mlplat_base_image() {
  if [ ! -s "$MLPLAT_BASE_CACHE" ]; then
    local rootfs
    rootfs="$MLPLAT_ENGINE_DIR/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,libgomp1 \
      bookworm "$rootfs" >"$MLPLAT_ENGINE_DIR/debootstrap.log" 2>&1 \
      || { tail -n 30 "$MLPLAT_ENGINE_DIR/debootstrap.log" >&2; return 1; }
    # Apt caches, docs, man pages and translations are no part of a runtime base (-50 MB).
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/info \
      "$rootfs"/usr/share/locale
    mkdir -p "$(dirname "$MLPLAT_BASE_CACHE")"
    tar --numeric-owner -C "$rootfs" -cf "$MLPLAT_BASE_CACHE.tmp" . && mv "$MLPLAT_BASE_CACHE.tmp" "$MLPLAT_BASE_CACHE"
    rm -rf "$rootfs"
  fi
  # The persistent data root may hold it already; importing again would only add a copy.
  docker image inspect "$MLPLAT_BASE_TAG" >/dev/null 2>&1 \
    || docker import - "$MLPLAT_BASE_TAG" <"$MLPLAT_BASE_CACHE" >/dev/null
  export MLPLAT_TEST_BASE_IMAGE="$MLPLAT_BASE_TAG"
  echo "== base image $MLPLAT_BASE_TAG from $MLPLAT_BASE_CACHE"
}
