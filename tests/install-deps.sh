#!/usr/bin/env bash
# Idempotent install step for `make run` and `make test`: installs only what is missing.
#
# canonical raft must be >= 0.17.1 (0.15 in bookworm's main suite commits entries from earlier
# terms by counting replicas). bookworm-backports carries libraft-dev 0.22.1 (the cowsql line).
# We enable backports by deriving a source from the machine's own Debian entry: same URIs,
# suite bookworm-backports. No mirror host is written here.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

# npm packages pinned by a lockfile: the test-side programs in tests/npm (anvil, solc,
# oidc-provider) and the site's build and test tools in web/ (Vite, TypeScript, Vitest,
# Playwright: no browser download, the tests drive Debian's chromium). Each directory is
# reinstalled only when its lockfile changed since its last install.
npm_install() {
    local dir
    for dir in "$top/tests/npm" "$top/web"; do
        [ -f "$dir/package-lock.json" ] || continue
        local stamp="$dir/node_modules/.parlay-lock"
        if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then continue; fi
        (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
        cp "$dir/package-lock.json" "$stamp"
    done
}

PKGS=(build-essential pkg-config libuv1-dev liblmdb-dev lmdb-utils libh2o-dev libjansson-dev
      libcurl4-openssl-dev libsecp256k1-dev libssl-dev nettle-dev libgsl-dev libcjose-dev
      libargon2-dev libcmocka-dev curl wrk hyperfine iproute2 clang-format jq fonts-dejavu-core
      clang libclang-rt-dev)

# The edge (nginx) and the browser of the web tests (chromium): Debian's packages, checked by
# their programs (any of Debian's nginx flavours will do).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || PKGS+=(nginx)
[ -x /usr/bin/chromium ] || PKGS+=(chromium)

need=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
raft_ok=0
if pkg-config --atleast-version=0.17.1 raft 2>/dev/null; then raft_ok=1; fi

npm_ok=1
command -v npm >/dev/null 2>&1 || npm_ok=0

if [ ${#need[@]} -eq 0 ] && [ $raft_ok -eq 1 ] && [ $npm_ok -eq 1 ]; then
    npm_install
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${need[*]} $( [ $raft_ok -eq 1 ] || echo libraft-dev>=0.17.1)); run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
bp="${codename}-backports"

if [ $raft_ok -eq 0 ] && ! grep -rqs -- "$bp" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uris=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        # deb822: take the URIs of the stanza whose Suites include the plain codename.
        uris=$(awk -v c="$codename" '
            /^[[:space:]]*$/ { if (s && u) { print u; exit } s=0; u="" ; next }
            /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); u=$0 }
            /^Suites:/ { n=split($0, a, /[[:space:]]+/); for (i=2;i<=n;i++) if (a[i]==c) s=1 }
            END { if (s && u) print u }' /etc/apt/sources.list.d/debian.sources | head -n1)
    fi
    if [ -z "$uris" ] && [ -f /etc/apt/sources.list ]; then
        uris=$(awk -v c="$codename" '$1=="deb" && $3==c { print $2; exit }' /etc/apt/sources.list)
    fi
    if [ -z "$uris" ]; then
        echo "install-deps: cannot find this machine's Debian source entry for $codename" >&2
        exit 1
    fi
    cat > /etc/apt/sources.list.d/parlay-backports.sources <<SRC
Types: deb
URIs: $uris
Suites: $bp
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ! pkg-config --atleast-version=0.17.1 raft 2>/dev/null; then
    apt-get install -y -qq --no-install-recommends -t "$bp" libraft-dev
fi
pkg-config --atleast-version=0.17.1 raft || {
    echo "install-deps: libraft-dev >= 0.17.1 could not be installed" >&2; exit 1; }
if ! command -v npm >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm_install
