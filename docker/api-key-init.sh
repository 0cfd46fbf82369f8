#!/bin/sh
# api-key-init: the first start of a compose stack that has no API key at all (API_KEYS empty and no
# key in Postgres) creates one admin-scoped key with the keys CLI and prints it, once, so the first
# user can get in; every later start finds a key and creates nothing. Runs in the results image
# (the keys CLI is part of apps/results, which owns Postgres), after results is healthy.
#
# Why a bootstrap key rather than refusing to start: the stack is useless without a key, and the
# keys CLI needs the running database, so the first start is where one can be made. Printing it
# puts it in this container's log (readable by whoever may run docker); revoke it once you have
# made your own keys (docs/operations.md).
set -eu

log() { echo "api-key-init: $*"; }
url="http://localhost:${ARGUS_HTTP_PORT:-3000}"

if [ -n "${API_KEYS:-}" ]; then
  log "API_KEYS is set (.env or the environment): no key created"
  exit 0
fi

# The CLI prints the list as JSON on its last line of stdout.
count="$(node main.js keys list --all --json | node -e '
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk)).on("end", () => {
    const last = text.trim().split("\n").pop();
    console.log(JSON.parse(last).length);
  });
')"
if [ "$count" -gt 0 ]; then
  log "Postgres holds $count API key(s), revoked ones included: no key created."
  log "Another key: docker compose exec results node main.js keys create --name NAME [--scopes admin]"
  exit 0
fi

key="$(node main.js keys create --name admin --scopes admin | tail -n 1)"
cat <<EOF
==========================================================================================
No API key was configured, so this first start created one admin key. It is shown here once:
Postgres keeps only its sha256.

    $key

    curl -H 'x-api-key: $key' -F image=@photo.jpg '$url/v1/detections?wait=5000'

It reads every client's detections. Give each client a key of its own:
    docker compose exec results node main.js keys create --name CLIENT
and revoke this one when you have yours (keys list, keys revoke ID).
==========================================================================================
EOF
