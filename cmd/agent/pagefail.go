package main

import (
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/engine"
)

// artifactKeeper keeps what a failed page shows (its screenshot, HTML and
// console) and reports where it went.
type artifactKeeper struct {
	// note reports the paths of the kept files.
	note func(paths []string)
	// warn, when set, reports a failure to keep them.
	warn func(err error)
}

// artifactKeeper reports kept files as the app does (app.noteArtifacts)
// and logs a failure to keep them.
func (a *app) artifactKeeper() artifactKeeper {
	return artifactKeeper{
		note: a.noteArtifacts,
		warn: func(err error) { a.log.Warn("artifacts", zap.Error(err)) },
	}
}

// keep keeps s's artifacts, labelled, when err is not nil, and returns
// err.
func (k artifactKeeper) keep(s engine.Session, label string, err error) error {
	if err == nil {
		return nil
	}
	paths, aerr := s.SaveArtifacts(label)
	k.note(paths)
	if aerr != nil && k.warn != nil {
		k.warn(aerr)
	}
	return err
}
