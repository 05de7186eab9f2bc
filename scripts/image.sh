#!/usr/bin/env bash
# Builds the container image localhost/msa:<version> with podman, without any registry: FROM scratch,
# the msa binary (stripped), the shared libraries ldd lists and the dynamic loader, /bin/sh linked
# to msa (it runs only podman's health checks), user 10001 (deploy/image/Containerfile).
#
#   scripts/image.sh                 # from a release build (cargo build --release): the image users get
#   scripts/image.sh --binary PATH   # from a binary built already (the tests package the test profile's)
#   scripts/image.sh --tag NAME      # under another name than localhost/msa:<version>
set -euo pipefail

usage() { echo "usage: scripts/image.sh [--release | --binary PATH] [--tag NAME]" >&2; exit 2; }
binary="" tag=""
while [ $# -gt 0 ]; do
  case "$1" in
    --release) binary=""; shift ;;
    --binary) [ $# -ge 2 ] || usage; binary="$2"; shift 2 ;;
    --tag) [ $# -ge 2 ] || usage; tag="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[ -z "$binary" ] || binary="$(realpath "$binary")"
cd "$(dirname "$0")/.."
command -v podman >/dev/null || { echo "podman is missing: apt-get install podman runc" >&2; exit 1; }
if [ -z "$binary" ]; then
  cargo build --release --locked -p msa
  binary=target/release/msa
fi
[ -x "$binary" ] || { echo "$binary is not an executable" >&2; exit 1; }
version="$("$binary" version | awk '{ print $2 }')"
tag="${tag:-localhost/msa:$version}"

context="$(mktemp -d "${TMPDIR:-/tmp}/msa-image.XXXXXX")"
trap 'rm -rf "$context"' EXIT
root="$context/rootfs"
mkdir -p "$root/usr/local/bin" "$root/bin"
# Symbols only serve a debugger, which the image does not have.
if command -v strip >/dev/null; then
  strip -o "$root/usr/local/bin/msa" "$binary"
else
  cp "$binary" "$root/usr/local/bin/msa"
fi
ln -s ../usr/local/bin/msa "$root/bin/sh"
# The libraries at the paths the loader looks in, and the loader at the path the binary names.
for library in $(ldd "$binary" 2>/dev/null | grep -o '/[^ ]*' || true); do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done
cp deploy/image/Containerfile "$context/Containerfile"

podman build --quiet --layers=false --pull=never --build-arg "VERSION=$version" --tag "$tag" "$context" >/dev/null
size="$(podman image inspect --format '{{.Size}}' "$tag")"
echo "$tag: $((size / 1000 / 1000)) MB ($size bytes)"
