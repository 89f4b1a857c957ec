// Package engine runs a change against the Team page the one way every
// change runs, whoever asks for it: the command line, `serve --auto-apply`,
// `apply` and the SCIM service.
//
// A run takes the workspace's lock, writes its planned record to the audit
// log (no record, no action), gets a browser session, asks for
// confirmation on a dry run of the flow when asked to, runs the flow with
// an audit record before each click and after each outcome and evidence
// screenshots around each destructive click, and finishes the audit run.
// It prints nothing: the caller gets an Outcome and decides what to show.
//
// Sessions are handed out by a Sessions value: OneShot opens a browser for
// each run, Keeper keeps one open between runs (for the daemons) and drops
// it after an error that leaves it unusable.
package engine
