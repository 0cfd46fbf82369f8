#!/bin/sh
# model-init: puts the models into MODEL_DIR (a volume the inference containers mount read-only),
# verified, then exits 0. Runs as a compose service that completes, or as a Kubernetes initContainer.
#
# Idempotent and safe to race (two pods sharing a PersistentVolume):
# - a model already present whose sha256 matches its recorded (or pinned) checksum is kept as is;
# - a download lands in a temporary folder on the same volume and is renamed into place, so no
#   reader ever sees a half-written model.onnx;
# - any failure (network, checksum) exits non-zero, so inference never starts without its model.
#
# Environment:
#   MODEL_DIR              where the models go (default /models)
#   MODEL_NAME             the folder the downloader writes (default yolox-nano)
#   MODEL_SHA256           the expected sha256. Set it in production: the downloader pins no
#                          checksum for the upstream file, so without it the first download is
#                          trusted as is (its sha256 is recorded and guards the file from then on)
#   MODEL_URL              fetch from this URL instead of the upstream release (a mirror, file://)
#   MODEL_DOWNLOAD_SCRIPT  the downloader (default /opt/argus/download-models.mjs, the repo's
#                          tools/scripts/download-models.mjs: --dir DIR [--sha256 HEX] [--url URL])
set -eu

dir="${MODEL_DIR:-/models}"
name="${MODEL_NAME:-yolox-nano}"
pin="${MODEL_SHA256:-}"
url="${MODEL_URL:-}"
script="${MODEL_DOWNLOAD_SCRIPT:-/opt/argus/download-models.mjs}"
target="$dir/$name/model.onnx"
record="$target.sha256"

log() { echo "model-init: $*"; }
fail() { echo "model-init: $*" >&2; exit 1; }
sha_of() { sha256sum "$1" | cut -d ' ' -f 1; }

case "$pin" in
  *[!0-9a-f]*) fail "MODEL_SHA256 must be a lowercase hex sha256, not '$pin'" ;;
esac
if [ -n "$pin" ] && [ "${#pin}" -ne 64 ]; then
  fail "MODEL_SHA256 must have 64 hex digits, it has ${#pin}"
fi

# The model is already there: keep it when it still matches what was verified when it arrived.
if [ -s "$target" ]; then
  actual="$(sha_of "$target")"
  expected="${pin:-$(cat "$record" 2>/dev/null || true)}"
  if [ -n "$expected" ] && [ "$actual" = "$expected" ]; then
    log "$target present (sha256 $actual), nothing to do"
    exit 0
  fi
  log "$target present but unverified or changed (sha256 $actual), fetching it again"
fi

mkdir -p "$dir" || fail "cannot create $dir"
tmp="$(mktemp -d "$dir/.model-init.XXXXXX")" || fail "cannot write to $dir"
trap 'rm -rf "$tmp"' EXIT INT TERM

log "downloading $name into $dir"
set -- --dir "$tmp"
if [ -n "$pin" ]; then set -- "$@" --sha256 "$pin"; fi
if [ -n "$url" ]; then set -- "$@" --url "$url"; fi
node "$script" "$@" || fail "download failed ($script)"

fetched="$tmp/$name/model.onnx"
[ -s "$fetched" ] || fail "$script did not write $name/model.onnx under --dir"
actual="$(sha_of "$fetched")"
if [ -n "$pin" ] && [ "$actual" != "$pin" ]; then
  fail "checksum mismatch for $name: expected $pin, got $actual"
fi
if [ -z "$pin" ]; then
  log "no MODEL_SHA256 pinned: trusting this first download (sha256 $actual); pin it to verify"
fi

mkdir -p "$dir/$name"
# Side files first (licence notes), the checksum record, then the model itself by rename(2),
# which is atomic on one filesystem: a reader sees the old file or the new one, never a mix.
for extra in "$tmp/$name"/*; do
  [ "$extra" = "$fetched" ] && continue
  [ -f "$extra" ] && mv -f "$extra" "$dir/$name/"
done
printf '%s\n' "$actual" > "$tmp/record"
mv -f "$tmp/record" "$record"
mv -f "$fetched" "$target"
chmod a+r "$target" "$record"
log "$target ready (sha256 $actual)"
