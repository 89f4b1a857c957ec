// Package secret reads the files that hold the agent's secrets: the
// session file, the audit key, the SCIM bearer token and TLS key, and the
// identity providers' API tokens and client secrets. Every one of them is
// read by Read, under one policy:
//
//   - Symbolic links are followed (a Kubernetes Secret volume is a tree of
//     ..data links) and the policy applies to the file they lead to.
//   - That file is a regular file: not a directory, a named pipe (which
//     would block the read), a device or a socket.
//   - It is owned by the effective user the agent runs as: another owner
//     could change the secret under the agent.
//   - Neither group nor others may read or write it (mode 0600, 0400 or
//     stricter: mode&0o077 == 0).
//   - It holds at most Options.MaxSize bytes, and is not empty (after
//     trimming white space, when Options.Trim is set).
//
// The file is opened with O_NOFOLLOW|O_NONBLOCK on the resolved path, and
// the opened file is checked again, so a file swapped between the check
// and the open is refused, not read.
//
// A refused file gives an error that names what the secret is
// (Options.Kind) and its path, says how to fix it (e.g. chmod 600 PATH),
// and never quotes the file's content. Every such error matches one of the
// sentinel errors (ErrNotFound, ErrNotRegular, ErrPermissive, ErrNotOwned,
// ErrTooLarge, ErrEmpty, ErrUnreadable) and core.ErrUsage, so the command
// line exits with the code of bad input (2) before any browser starts or
// any request is sent.
//
// FromFileOrEnv serves the secrets that may also come from an environment
// variable: the file, when one is named, wins and is read by Read.
package secret
