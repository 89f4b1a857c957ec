// Package schedule runs snapshots for `agent serve`: on a daily wall-clock
// time or at a fixed interval, never two at once, with missed runs logged.
// It keeps the state behind /healthz and the Prometheus metrics behind
// /metrics, and wires both into an http.ServeMux.
package schedule
