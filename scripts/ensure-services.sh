#!/usr/bin/env bash
# Make sure the server binaries the test suite starts itself are installed:
#   redis-server, and the PostgreSQL server tools (initdb, pg_ctl);
# and what PDF reports need: a CJK font (fonts-wqy-microhei: WenQuanYi Micro Hei,
# which weasyprint renders Chinese with), HarfBuzz's subsetter (libharfbuzz-subset0:
# weasyprint subsets fonts with it, and will require it) and poppler-utils
# (pdftotext, pdffonts), with which the tests read the PDFs back.
# With --bench, also wrk (Debian's package), which bench/load.py drives; the tests
# never need it.
# Idempotent: a warm machine only runs a few `command -v` / file tests.
# Installs via apt-get (one `apt-get update`, only when something is missing).
# Without root or sudo: prints what is missing; exit 0 outside CI, exit 1 under CI=true.
set -euo pipefail

bench=0
for arg in "$@"; do
    case "$arg" in
        --bench) bench=1 ;;
        *) echo "usage: $0 [--bench]" >&2; exit 2 ;;
    esac
done

is_ci() {
    case "${CI:-}" in
        1 | true | TRUE | True | yes) return 0 ;;
        *) return 1 ;;
    esac
}

have_redis() {
    command -v redis-server >/dev/null 2>&1
}

have_postgres() {
    local bindir
    if command -v pg_config >/dev/null 2>&1; then
        bindir="$(pg_config --bindir 2>/dev/null || true)"
        if [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]; then
            return 0
        fi
    fi
    for bindir in /usr/lib/postgresql/*/bin; do
        if [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]; then
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        return 0
    fi
    return 1
}

have_cjk_font() {
    # The font file itself: fontconfig's cache may lag behind a fresh install.
    [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] && return 0
    command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep "WenQuanYi Micro Hei" >/dev/null
}

have_hb_subset() {
    ldconfig -p 2>/dev/null | grep "libharfbuzz-subset\.so\.0" >/dev/null
}

have_poppler() {
    command -v pdftotext >/dev/null 2>&1 && command -v pdffonts >/dev/null 2>&1
}

have_wrk() {
    [ "$bench" -eq 0 ] || command -v wrk >/dev/null 2>&1
}

missing=()
have_redis || missing+=(redis-server)
have_postgres || missing+=(postgresql)
have_cjk_font || missing+=(fonts-wqy-microhei)
have_hb_subset || missing+=(libharfbuzz-subset0)
have_poppler || missing+=(poppler-utils)
have_wrk || missing+=(wrk)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "ensure-services: missing packages: ${missing[*]}" >&2
    echo "ensure-services: not root and no password-less sudo; install them with:" >&2
    echo "    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    if is_ci; then
        exit 1
    fi
    echo "ensure-services: tests that need these services will be skipped (outside CI)." >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-services: missing ${missing[*]} and apt-get is not available" >&2
    if is_ci; then exit 1; fi
    exit 0
fi

echo "ensure-services: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The Debian packages may start system-wide daemons; the tests start their own
# throwaway servers on free ports, so the system ones are not needed. They are
# left alone here: stopping services is the machine owner's decision.

still=()
have_redis || still+=(redis-server)
have_postgres || still+=(postgresql)
have_cjk_font || still+=(fonts-wqy-microhei)
have_hb_subset || still+=(libharfbuzz-subset0)
have_poppler || still+=(poppler-utils)
have_wrk || still+=(wrk)
if [ "${#still[@]}" -ne 0 ]; then
    echo "ensure-services: still missing after install: ${still[*]}" >&2
    exit 1
fi
echo "ensure-services: ok" >&2
