#!/usr/bin/env bash
# What `make test` needs that pip cannot bring: Debian's chromium (the demo page's browser
# test, driven by Playwright) and Node.js with npm (the test that runs Cloudflare's own
# `agents` client). Installed from Debian's packages when missing; nothing when present.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "make test needs ${missing[*]} (Debian: apt-get install ${missing[*]}); run this as root or with sudo" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "make test needs ${missing[*]}: install them with your system's package manager" >&2
  exit 1
fi
echo "installing ${missing[*]} (Debian packages) for the browser and Cloudflare client tests"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
