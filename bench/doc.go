// Package bench measures `agent list` on large workspaces: the Go
// benchmarks in list_bench_test.go, the peak memory of the Go process in
// cmd/rss, and the comparison with a hand-written Playwright script in
// run.sh and playwright/. docs/performance.md has the figures.
package bench
