// Package snapshot saves a workspace's roster to timestamped JSON files and
// reports what changed between two of them: members added, removed,
// renamed or given another role, and invitations sent or gone.
//
// Files are named "<workspace>-<UTC time>.json" (see FileName), written
// atomically and never overwritten. Take is the whole `agent snapshot`
// command: list, save, diff against the newest earlier snapshot, notify a
// webhook and prune.
package snapshot
