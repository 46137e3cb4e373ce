# Helpers shared by the benchmark scripts. Source it from the repository
# root after setting BENCH_NAME (the script's path, for error messages):
#   BENCH_NAME=bench/serve.sh; . bench/lib.sh

step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; exit 2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

APT_UPDATED=0
apt_install() { # PACKAGE...: installs them with apt-get; fails quietly
    if [ "$APT_UPDATED" = 0 ]; then
        as_root apt-get update -qq >/dev/null 2>&1 || return 1
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

need_gnu_time() { # GNU time at /usr/bin/time, for peak RSS
    if [ ! -x /usr/bin/time ]; then
        note "/usr/bin/time missing: installing the time package with apt-get"
        apt_install time || die "cannot install GNU time (apt-get install time)"
    fi
}

find_oha() { # CARGO_ROOT: sets OHA, installing oha from crates.io under CARGO_ROOT if needed
    if command -v oha >/dev/null; then
        OHA=$(command -v oha)
    elif [ -x "$1/bin/oha" ]; then
        OHA=$1/bin/oha
    else
        note "oha missing: cargo install oha --locked --root $1 (a few minutes)"
        mkdir -p "$1"
        cargo install oha --locked --root "$1" >&2 \
            || die "cannot install oha; this benchmark needs its fixed-rate mode with latency correction"
        OHA=$1/bin/oha
    fi
    note "oha: $OHA ($("$OHA" --version))"
}

start_registry() { # HOST DIR: Debian's docker-registry on HOST, storage and log under DIR; sets REG_PID
    # REGISTRY_ACCESS_LOG=1 logs every request (for counting them).
    local host=$1 dir=$2 quiet=true
    [ "${REGISTRY_ACCESS_LOG:-0}" = 1 ] && quiet=false
    mkdir -p "$dir"
    cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: error
  accesslog:
    disabled: $quiet
storage:
  filesystem:
    rootdirectory: $PWD/$dir/storage
http:
  addr: $host
CONF
    /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    REG_PID=$!
    local ready=0
    for _ in $(seq 1 100); do
        kill -0 "$REG_PID" 2>/dev/null || { cat "$dir/registry.log" >&2; die "docker-registry exited"; }
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$host/v2/" || true)" = 200 ]; then
            ready=1
            break
        fi
        sleep 0.1
    done
    [ "$ready" = 1 ] || { cat "$dir/registry.log" >&2; die "docker-registry did not answer GET /v2/ within 10 s"; }
}

wait_for_serve() { # TIME_PID PORT LOG: palisade serve started under /usr/bin/time (pid TIME_PID) answers /readyz; sets SPID
    local time_pid=$1 port=$2 log=$3
    for _ in $(seq 1 50); do
        SPID=$(pgrep -P "$time_pid" -x palisade || true)
        [ -n "$SPID" ] && break
        sleep 0.1
    done
    [ -n "$SPID" ] || { cat "$log" >&2; die "palisade serve did not start"; }
    local ready=0
    for _ in $(seq 1 100); do
        kill -0 "$SPID" 2>/dev/null || { cat "$log" >&2; die "palisade serve exited"; }
        if [ "$(curl -sk --max-time 2 "https://127.0.0.1:$port/readyz" || true)" = ready ]; then
            ready=1
            break
        fi
        sleep 0.1
    done
    [ "$ready" = 1 ] || { cat "$log" >&2; die "/readyz did not answer 'ready' within 10 s"; }
}
