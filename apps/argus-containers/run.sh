#!/usr/bin/env bash
# The container tier (`npx nx run argus-containers:container`, the end of `npm test`): builds the
# images from this checkout, starts the compose stack under a fresh project name with free host
# ports and the test models, and checks it from outside (src/stack.container.spec.ts). Needs Docker
# with Compose (v2, or docker-compose 1.29 behind `docker compose`) and BuildKit; on a machine
# without Docker Hub, ../shared/docker-offline/setup.sh provides both and the base images.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! docker info >/dev/null 2>&1; then
  echo "argus-containers: no Docker engine answers (docker info failed). Install Docker and Compose" >&2
  echo "  (offline: bash ../shared/docker-offline/setup.sh, then . ../shared/docker-offline/env.sh)." >&2
  exit 1
fi
export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
export ARGUS_CT_PROJECT="${ARGUS_CT_PROJECT:-argus-ct-$(date +%s)-$RANDOM}"

# Whatever happens to the test process (a crash, a kill, a timeout), the stack goes.
cleanup() {
  docker compose -p "$ARGUS_CT_PROJECT" --profile monitoring --profile yolov8n down -v --remove-orphans >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

start=$(date +%s)
npx jest -c apps/argus-containers/jest.containers.config.cts "$@"
echo "argus-containers: $(( $(date +%s) - start )) s (project $ARGUS_CT_PROJECT)"
