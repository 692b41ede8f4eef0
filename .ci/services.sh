# Sourced by .ci/run (issue 10): the remote services the scaling tests drive for real, all on
# 127.0.0.1 on free ports, all stopped by PID:
#   - PostgreSQL (Debian's package) in a throwaway cluster, as the `postgres` user when root;
#   - an MLflow tracking server on it, serving artifacts from a local directory;
#   - moto's standalone S3-compatible server (from PyPI) for DVC remotes and MLflow artifacts.
# Exports MLPLAT_TEST_TRACKING_URI and MLPLAT_TEST_S3_ENDPOINT for tests/scale/test_scale_*.py.
# Functions only; the caller decides when to start and stop (trap) them.

MLPLAT_SERVICES_DIR="${MLPLAT_SERVICES_DIR:-${TMPDIR:-/tmp}/mlplat-services-$$}"
MLPLAT_PY="${MLPLAT_PY:-.venv/bin/python}"

mlplat_free_port() {
  "$MLPLAT_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Run a command as the postgres user when root (initdb refuses root), else as ourselves.
mlplat_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mlplat_wait_http() {  # url pid log
  for _ in $(seq 90); do
    if "$MLPLAT_PY" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$2" 2>/dev/null; then break; fi
    sleep 1
  done
  echo "service at $1 did not start; its log:" >&2
  tail -n 40 "$3" >&2
  return 1
}

mlplat_postgres_start() {
  local bin pgdata
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  pgdata="$MLPLAT_SERVICES_DIR/pgdata"
  MLPLAT_PG_PORT="$(mlplat_free_port)"
  mkdir -p "$MLPLAT_SERVICES_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$MLPLAT_SERVICES_DIR"
  mlplat_as_pg "$bin/initdb" -D "$pgdata" -U mlplat --auth=trust >"$MLPLAT_SERVICES_DIR/initdb.log" 2>&1 \
    || { tail -n 20 "$MLPLAT_SERVICES_DIR/initdb.log" >&2; return 1; }
  # Only TCP on 127.0.0.1; the unix socket goes to our directory, not /var/run/postgresql.
  mlplat_as_pg "$bin/pg_ctl" -D "$pgdata" -l "$MLPLAT_SERVICES_DIR/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $MLPLAT_PG_PORT -k $MLPLAT_SERVICES_DIR -c fsync=off" start \
    >/dev/null || { tail -n 20 "$MLPLAT_SERVICES_DIR/postgres.log" >&2; return 1; }
  MLPLAT_PG_PID="$(head -n 1 "$pgdata/postmaster.pid")"
  mlplat_as_pg "$bin/createdb" -h 127.0.0.1 -p "$MLPLAT_PG_PORT" -U mlplat mlflow
  echo "== postgres $MLPLAT_PG_PID on 127.0.0.1:$MLPLAT_PG_PORT"
}

mlplat_mlflow_start() {
  local port
  port="$(mlplat_free_port)"
  mkdir -p "$MLPLAT_SERVICES_DIR/mlartifacts"
  # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3: name the psycopg2 driver explicitly.
  # setsid: the server forks workers; its own process group lets stop reach them all.
  # No job execution: its Huey consumers (7 processes) run MLflow server jobs mlplat never uses.
  # Webhooks over http to 127.0.0.1: tests/ops/test_notify.py registers one for `mlplat notify
  # listen` (MLflow delivers only to https on public addresses by default).
  MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true \
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid .venv/bin/mlflow server --backend-store-uri "postgresql+psycopg2://mlplat@127.0.0.1:$MLPLAT_PG_PORT/mlflow" \
    --artifacts-destination "$MLPLAT_SERVICES_DIR/mlartifacts" \
    --host 127.0.0.1 --port "$port" --workers 2 >"$MLPLAT_SERVICES_DIR/mlflow.log" 2>&1 &
  MLPLAT_MLFLOW_PID=$!
  mlplat_wait_http "http://127.0.0.1:$port/health" "$MLPLAT_MLFLOW_PID" "$MLPLAT_SERVICES_DIR/mlflow.log" || return 1
  export MLPLAT_TEST_TRACKING_URI="http://127.0.0.1:$port"
  echo "== mlflow server $MLPLAT_MLFLOW_PID at $MLPLAT_TEST_TRACKING_URI (postgres backend)"
}

mlplat_moto_start() {
  local port
  port="$(mlplat_free_port)"
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$MLPLAT_SERVICES_DIR/moto.log" 2>&1 &
  MLPLAT_MOTO_PID=$!
  mlplat_wait_http "http://127.0.0.1:$port/moto-api/" "$MLPLAT_MOTO_PID" "$MLPLAT_SERVICES_DIR/moto.log" || return 1
  export MLPLAT_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  echo "== moto S3 server $MLPLAT_MOTO_PID at $MLPLAT_TEST_S3_ENDPOINT"
}

mlplat_services_start() {
  mlplat_postgres_start && mlplat_mlflow_start && mlplat_moto_start
}

mlplat_stop_pid() {  # pid [group]: TERM (the process group led by pid, with "group"), then KILL
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 0
  local target="$1"
  [ "${2:-}" = group ] && target="-$1"
  kill -TERM -- "$target" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || return 0; sleep 1; done
  kill -KILL -- "$target" 2>/dev/null || true
}

mlplat_services_stop() {
  mlplat_stop_pid "${MLPLAT_MOTO_PID:-}"
  mlplat_stop_pid "${MLPLAT_MLFLOW_PID:-}" group
  mlplat_stop_pid "${MLPLAT_PG_PID:-}"  # TERM is PostgreSQL's "smart" shutdown
  rm -rf "$MLPLAT_SERVICES_DIR"
}
