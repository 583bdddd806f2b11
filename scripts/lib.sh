# Helpers shared by the scripts in this directory. Source it; it defines functions only.

# Starts the local PostgreSQL cluster when it is installed and not running.
ensure_postgres() {
  local host=${PGHOST_CHECK:-127.0.0.1}
  if pg_isready -q -h "$host" -p 5432 2>/dev/null; then
    return 0
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "starting the local PostgreSQL $version cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do
      pg_isready -q -h "$host" -p 5432 && return 0
      sleep 1
    done
  fi
  echo "PostgreSQL is not reachable on $host:5432; start it or set the database URL" >&2
  return 1
}

# Installs the Debian packages the tests drive (makepkg, pacman, repo-add, vercmp, bsdtar, ...,
# nginx and systemd-analyze for the deployment examples, tidy to validate the web UI's HTML) when something is missing and we may
# install (root with apt-get).
ensure_test_tools() {
  local missing=()
  for tool in makepkg pacman repo-add vercmp bsdtar fakeroot zstd xz bzip2 pg_isready docker-compose \
    curl nginx systemd-analyze tidy gpg pacman-key; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
  done
  # The Python tests (generated client, schemathesis) make virtual environments with pip.
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing test tools (missing: ${missing[*]})" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      makepkg pacman-package-manager libarchive-tools fakeroot zstd xz-utils bzip2 \
      postgresql-client docker-compose python3 python3-venv python3-pip \
      curl nginx systemd tidy gnupg >/dev/null
  else
    echo "missing tools: ${missing[*]}; install the Debian packages makepkg" \
      "pacman-package-manager libarchive-tools fakeroot zstd xz-utils bzip2 postgresql-client" \
      "docker-compose python3 python3-venv curl nginx systemd tidy gnupg" >&2
    return 1
  fi
}

# The browser suite (e2e/tests/browser.rs): Debian's Chromium, and playwright-core (pinned by
# e2e/browser/package-lock.json) from the npm registry to drive it.
ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing chromium for the browser tests" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "missing chromium: install the Debian package chromium" >&2
      return 1
    fi
  fi
  command -v npm >/dev/null 2>&1 || { echo "missing npm (Node.js 20 or later)" >&2; return 1; }
  local dir
  dir="$(dirname "${BASH_SOURCE[0]}")/../e2e/browser"
  if [ ! -d "$dir/node_modules/playwright-core" ] \
    || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Installs s3s-fs, the S3-compatible server the object-store tests run against (a real S3
# implementation over a directory, from crates.io), when it is missing. About 3 minutes once.
S3S_FS_VERSION=0.14.1
ensure_s3_server() {
  if command -v s3s-fs >/dev/null 2>&1 || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
    return 0
  fi
  echo "installing s3s-fs $S3S_FS_VERSION for the object-store tests" >&2
  cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked --quiet
}
