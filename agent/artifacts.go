package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent/fsutil"
)

// artifactTimeout bounds the capture of failure artifacts: they must never
// hold up the report of the failure itself.
const artifactTimeout = 5 * time.Second

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SaveArtifacts keeps what a person needs to see why a step failed: a PNG
// screenshot, the page's HTML and the console errors, in the artifacts
// directory, named after label. It returns the paths it wrote. It works
// after ctx has ended (e.g. on Ctrl-C) and skips what the browser can no
// longer give.
func (b *Browser) SaveArtifacts(label string) ([]string, error) {
	dir := b.cfg.ArtifactsDir
	if dir == "" {
		dir = "artifacts"
	}
	if err := EnsureDir(dir); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, time.Now().UTC().Format("20060102T150405.000Z")+"-"+strings.Trim(unsafeName.ReplaceAllString(label, "-"), "-"))
	var paths []string
	var errs []string
	ctx, cancel := context.WithTimeout(context.Background(), artifactTimeout)
	defer cancel()
	if png, err := b.Screenshot(ctx); err == nil {
		if err := fsutil.WriteFileAtomic(base+".png", png, 0o600); err == nil {
			paths = append(paths, base+".png")
		} else {
			errs = append(errs, err.Error())
		}
	} else {
		errs = append(errs, "screenshot: "+err.Error())
	}
	if html, err := b.HTML(ctx); err == nil {
		if err := fsutil.WriteFileAtomic(base+".html", []byte(html), 0o600); err == nil {
			paths = append(paths, base+".html")
		} else {
			errs = append(errs, err.Error())
		}
	} else {
		errs = append(errs, "html: "+err.Error())
	}
	console := b.ConsoleErrors()
	text := strings.Join(console, "\n")
	if len(console) == 0 {
		text = "(no console errors)"
	}
	if err := fsutil.WriteFileAtomic(base+".console.txt", []byte(text+"\n"), 0o600); err == nil {
		paths = append(paths, base+".console.txt")
	} else {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return paths, fmt.Errorf("some artifacts were not saved: %s", strings.Join(errs, "; "))
	}
	return paths, nil
}

// SaveScreenshot writes one PNG of the page as evidence and returns its
// path.
func (b *Browser) SaveScreenshot(ctx context.Context, dir, name string) (string, error) {
	if err := EnsureDir(dir); err != nil {
		return "", err
	}
	png, err := b.Screenshot(ctx)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-")+".png")
	if err := fsutil.WriteFileAtomic(p, png, 0o600); err != nil {
		return "", err
	}
	return p, nil
}
