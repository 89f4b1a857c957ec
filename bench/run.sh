#!/usr/bin/env bash
# Times `agent list` against a hand-written Playwright script doing the
# same job on the fixture's virtualized Team page (grid rendition, 2,000
# members by default), measures the agent's peak RSS at 5,000 members, and
# writes bench/results.md.
#
#   bash bench/run.sh            # from the repository's root
#   RUNS=10 MEMBERS=2000 bash bench/run.sh
#
# Needs: go, node and npm (the npm registry for playwright-core), and a
# Chromium (CHROME_PATH, default /usr/lib/chromium/chromium). Uses
# hyperfine when it is installed (apt-get install -y hyperfine), a plain
# loop otherwise. Playwright never downloads a browser here: it runs the
# same Chromium binary as the agent.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
MEMBERS=${MEMBERS:-2000}
RSS_MEMBERS=${RSS_MEMBERS:-5000}
ADDR=${ADDR:-127.0.0.1:18089}
RSS_ADDR=${RSS_ADDR:-127.0.0.1:18090}
CHROME=${CHROME_PATH:-/usr/lib/chromium/chromium}
OUT=${OUT:-bench/results.md}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building bin/agent and bin/rss" >&2
go build -o bin/agent ./cmd/agent
go build -o bin/rss ./bench/cmd/rss
if [ ! -d bench/playwright/node_modules/playwright-core ]; then
  echo "installing playwright-core (no browser download)" >&2
  (cd bench/playwright && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
fi

# serve ADDR MEMBERS: a grid fixture in the background
serve() {
  bin/agent fixtures serve --addr "$1" --rendition grid --members "$2" >"$work/serve-$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  cat "$work/serve-$2.log" >&2
  return 1
}

# login ADDR FILE: a session through the fixture's login page
login() {
  printf 'correct-horse\n' | bin/agent login --email admin@acme.test --password-stdin \
    --base-url "http://$1" --workspace 1234 --session "$2" --chrome "$CHROME" \
    --artifacts-dir "$work/artifacts" >/dev/null
}

serve "$ADDR" "$MEMBERS"
login "$ADDR" "$work/session.json"

agent_cmd="bin/agent list -o json --base-url http://$ADDR --workspace 1234 --session $work/session.json --chrome $CHROME --artifacts-dir $work/artifacts"
pw_frame="node bench/playwright/list.mjs --base-url http://$ADDR --session $work/session.json --chrome $CHROME --scroll frame"
pw_event="node bench/playwright/list.mjs --base-url http://$ADDR --session $work/session.json --chrome $CHROME --scroll event"

# Both must list every member before their times mean anything.
got=$($agent_cmd | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).members.length))')
[ "$got" = "$MEMBERS" ] || { echo "agent listed $got members, want $MEMBERS" >&2; exit 1; }
$pw_frame --want "$MEMBERS" >/dev/null
$pw_event --want "$MEMBERS" >/dev/null

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
names=("agent list" "playwright (scroll: frame)" "playwright (scroll: event)")
cmds=("$agent_cmd" "$pw_frame" "$pw_event")

# hyperfine runs all the runs of one command, then the next: on a shared
# machine whose load changes, that favours whichever ran in a quiet spell.
# The loop below interleaves the commands round by round, so each round
# sees the same load; it runs whether or not hyperfine is there.
timings="$work/timings.md"
if command -v hyperfine >/dev/null; then
  tool="hyperfine $(hyperfine --version | awk '{print $2}'), $RUNS runs after 1 warm-up"
  hyperfine --warmup 1 --runs "$RUNS" --style basic --export-markdown "$timings" \
    -n "${names[0]}" "${cmds[0]} >/dev/null" \
    -n "${names[1]}" "${cmds[1]} >/dev/null 2>&1" \
    -n "${names[2]}" "${cmds[2]} >/dev/null 2>&1" >&2
else
  tool="hyperfine is not installed (apt-get install -y hyperfine)"
  echo "(no hyperfine run)" >"$timings"
fi

interleaved="$work/interleaved.md"
raw="$work/interleaved.tsv"
: >"$raw"
for i in "${!cmds[@]}"; do ${cmds[$i]} >/dev/null 2>&1; done # warm-up
for r in $(seq 1 "$RUNS"); do
  for i in "${!cmds[@]}"; do
    s=$(date +%s%N)
    ${cmds[$i]} >/dev/null 2>&1
    e=$(date +%s%N)
    printf '%s\t%d\n' "${names[$i]}" $(( (e - s) / 1000000 )) >>"$raw"
  done
  echo "round $r of $RUNS done" >&2
done
{
  echo "| Command | Mean [s] | Median [s] | Min [s] | Max [s] | Relative (mean) |"
  echo "|:---|---:|---:|---:|---:|---:|"
  awk -F'\t' '
    { n[$1]++; v[$1, n[$1]] = $2; s[$1] += $2; q[$1] += $2 * $2; if (!($1 in order)) { order[$1] = ++k; name[k] = $1 } }
    END {
      best = 0
      for (i = 1; i <= k; i++) { m = s[name[i]] / n[name[i]]; if (best == 0 || m < best) best = m }
      for (i = 1; i <= k; i++) {
        c = name[i]; m = s[c] / n[c]; sd = sqrt(q[c] / n[c] - m * m)
        # sort the values for min, median and max
        for (a = 1; a <= n[c]; a++) x[a] = v[c, a]
        for (a = 1; a <= n[c]; a++) for (b = a + 1; b <= n[c]; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
        med = (n[c] % 2) ? x[(n[c] + 1) / 2] : (x[n[c] / 2] + x[n[c] / 2 + 1]) / 2
        printf "| `%s` | %.3f ± %.3f | %.3f | %.3f | %.3f | %.2f |\n", c, m / 1000, sd / 1000, med / 1000, x[1] / 1000, x[n[c]] / 1000, m / best
      }
    }' "$raw"
} >"$interleaved"

serve "$RSS_ADDR" "$RSS_MEMBERS"
login "$RSS_ADDR" "$work/session-rss.json"
rss_self=$(bin/rss -base-url "http://$RSS_ADDR" -workspace 1234 -session "$work/session-rss.json" -chrome "$CHROME" -want "$RSS_MEMBERS")
rss_exec=$(bin/rss -exec -- bin/agent list -o json --base-url "http://$RSS_ADDR" --workspace 1234 \
  --session "$work/session-rss.json" --chrome "$CHROME" --artifacts-dir "$work/artifacts")

{
  echo "# bench/run.sh results"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with uncommitted changes in the tree)')"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
  echo "- $("$CHROME" --version 2>/dev/null | sed 's/ *$//'), $(go version | awk '{print $3}'), node $(node --version), playwright-core $(node -p 'require("./bench/playwright/node_modules/playwright-core/package.json").version')"
  echo "- load average before the timings: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "## \`agent list\` against a hand-written Playwright script, grid rendition, $MEMBERS members"
  echo
  echo "Each command is a whole process: start, launch Chromium, load the Team page with the session, read every row, print, close."
  echo
  echo "### Interleaved rounds ($RUNS rounds after 1 warm-up, the three commands in turn)"
  echo
  cat "$interleaved"
  echo
  echo "### $tool"
  echo
  cat "$timings"
  echo
  echo "## Peak RSS of the agent's Go process, grid rendition, $RSS_MEMBERS members"
  echo
  echo "- $rss_self"
  echo "- $rss_exec"
} >"$OUT"
echo "wrote $OUT" >&2
