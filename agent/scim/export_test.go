package scim

// StopAfterStep makes the worker of s stop, as a crash would, right after
// it records that a job changing the role of a pending invitation reached
// step ("invite", "verify", "restore" or "set-role"). Call it before Run.
func StopAfterStep(s *Server, step string) { s.stopAfter = jobStep(step) }
