package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/clay-agent/clay-agent/agent/engine"
	"github.com/clay-agent/clay-agent/flows"
)

// testStreams returns streams reading stdin and writing to buffers.
func testStreams(stdin string) (streams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}, &out, &errOut
}

// doerFunc is an httpDoer made of a function.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// fakeSession is an engine.Session without a browser: it records the
// artifacts asked of it and whether it was closed.
type fakeSession struct {
	mu        sync.Mutex
	artifacts []string // the labels SaveArtifacts was called with
	paths     []string // what SaveArtifacts returns
	closed    int
}

var _ engine.Session = (*fakeSession)(nil)

// Team has no page behind it: the commands under test reach the page
// through their options.
func (s *fakeSession) Team() *flows.Team { return nil }

func (s *fakeSession) SaveScreenshot(context.Context, string, string) (string, error) {
	return "", nil
}

func (s *fakeSession) SaveArtifacts(label string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.artifacts = append(s.artifacts, label)
	return s.paths, nil
}

func (s *fakeSession) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
}

// opener returns a sessionOpener that hands out s, or fails with err.
func (s *fakeSession) opener(err error) sessionOpener {
	return func(context.Context) (engine.Session, error) {
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// noted collects the artifacts a command reported.
type noted struct{ paths []string }

func (n *noted) note(paths []string) { n.paths = append(n.paths, paths...) }
