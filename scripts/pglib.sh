# Sourced by the scripts that run PostgreSQL's server programs themselves (pg.sh, the
# backup drill, the restore): where those programs are, and who runs them.

# pg_bin: the newest PostgreSQL server binaries' directory, or nothing (status 1).
pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

# run_as_owner CMD...: runs a command as the cluster's owner (postgres when we are root:
# PostgreSQL refuses to run as root, and its files must stay its own).
run_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

# ensure_owner_user: when we are root, the postgres user exists (Debian's package makes it;
# a server installed otherwise may not have).
ensure_owner_user() {
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  fi
}

# give_to_owner PATH...: hands paths made by root to the cluster's owner.
give_to_owner() {
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$@"; fi
}
