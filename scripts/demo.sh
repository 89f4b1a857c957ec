#!/usr/bin/env bash
# Runs the main job against the embedded fixture server: start it, sign in
# through its login page (writing a 0600 session file), list the members.
set -euo pipefail
bin=${1:-bin/agent}
addr=${2:-127.0.0.1:8089}
dir=${3:-.demo}
mkdir -p "$dir"
"$bin" fixtures serve --addr "$addr" --rendition "${DEMO_RENDITION:-grid}" >"$dir/fixtures.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$dir/fixtures.log" >&2; exit 1; fi
  sleep 0.1
done
export CLAY_BASE_URL="http://$addr" CLAY_WORKSPACE=1234 CLAY_SESSION="$dir/session.json"
export CLAY_ARTIFACTS_DIR="$dir/artifacts"
echo "$ agent login --email admin@acme.test --password-stdin"
printf 'correct-horse\n' | "$bin" login --email admin@acme.test --password-stdin
echo
echo "$ agent list"
"$bin" list
