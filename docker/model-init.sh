#!/bin/sh
# model-init: fills MODEL_DIR (a volume the inference containers mount read-only) with verified
# models, then exits 0. Runs as a compose service that completes, or as a Kubernetes initContainer.
# Any failure (network, checksum, unreadable folder) exits non-zero, so inference never starts
# without its models.
#
# Environment:
#   MODEL_DIR              the model repository to fill (default /models)
#   MODEL_SEED_DIR         a mounted folder of models (<name>/model.onnx, <name>/<version>/model.onnx)
#                          copied as they are, with the files beside them; compose mounts ./models
#                          here. Empty or absent: nothing is copied.
#   MODEL_SOURCES          entries name[@version]=url#sha256, separated by spaces, commas or
#                          newlines; url is https://, http:// or file:// (a mounted file). Each is
#                          verified before it is installed, and kept without a download when the
#                          file already there has that sha256. An entry whose model MODEL_SEED_DIR
#                          provides is skipped. Empty, with an empty MODEL_SEED_DIR: YOLOX-Nano from its
#                          upstream release, verified against the sha256 pinned in the downloader.
#   MODEL_DOWNLOAD_SCRIPT  the downloader (default /opt/argus/download-models.mjs, the repository's
#                          tools/scripts/download-models.mjs)
#
# Idempotent and safe to race (pods sharing a PersistentVolume): each file lands under a temporary
# name on the same volume and is renamed into place, so no reader sees a half-written model.
set -eu
# Word splitting of MODEL_SOURCES must not expand globs.
set -f

dir="${MODEL_DIR:-/models}"
seed="${MODEL_SEED_DIR:-}"
script="${MODEL_DOWNLOAD_SCRIPT:-/opt/argus/download-models.mjs}"

log() { echo "model-init: $*"; }
fail() { echo "model-init: $*" >&2; exit 1; }

# The downloader replaces a file whose sha256 differs from its entry's: the volume is model-init's
# own, so a damaged or outdated model there is fetched again.
set -- --dir "$dir" --force
if [ -n "$seed" ]; then
  [ -d "$seed" ] || fail "MODEL_SEED_DIR=$seed is not a folder (is it mounted?)"
  set -- "$@" --from "$seed"
fi
for entry in $(printf '%s\n' "${MODEL_SOURCES:-}" | tr ',' ' '); do
  set -- "$@" --source "$entry"
done

node "$script" "$@" || fail "could not fill $dir (see above); inference will not start without its models"

# What the inference containers will find, including models an earlier run left (they stay until
# the volume is removed: docker compose down -v, or a new emptyDir in Kubernetes).
found="$(cd "$dir" && find . -name model.onnx -not -path '*/.*' | sed 's|^\./||; s|/model\.onnx$||' | sort | tr '\n' ' ')"
log "$dir holds: ${found:-nothing}"
