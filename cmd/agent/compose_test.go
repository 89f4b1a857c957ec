package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// No Docker engine or cluster runs where the tests do, so these tests read
// the deployment files and check that every agent command line in them
// parses and validates with the real command tree: docker-compose.yml's
// commands and health checks, the Dockerfile's CMD and HEALTHCHECK, and the
// Kubernetes manifests' container args.

// deployRoot is the repository's root, seen from cmd/agent.
const deployRoot = "../.."

// agentBinary is where the image installs the agent.
const agentBinary = "/usr/local/bin/agent"

// agentImage is the image name (without registry or tag) built from the
// Dockerfile.
const agentImage = "clay-agent"

// pendingCommands are commands the deployment files already use but that
// are written elsewhere and may not be in this tree yet. A command line
// using one is skipped, with this reason, only while the command tree does
// not know it. Any other unknown command fails.
var pendingCommands = map[string]string{
	"smoke": "`agent smoke` (the fixture smoke test) is not in the command tree yet",
}

// deployedCommand is one agent command line found in a deployment file.
type deployedCommand struct {
	where string            // file and location, for messages
	env   map[string]string // the environment the agent would see
	args  []string          // the arguments after the agent binary
}

func TestDeploymentCommandLinesParse(t *testing.T) {
	image := readDockerfile(t, filepath.Join(deployRoot, "Dockerfile"))
	var lines []deployedCommand
	lines = append(lines, image.commands...)
	lines = append(lines, composeCommands(t, filepath.Join(deployRoot, "docker-compose.yml"), image)...)
	for _, f := range kubernetesManifests(t, filepath.Join(deployRoot, "deploy", "kubernetes")) {
		lines = append(lines, kubernetesCommands(t, f, image.env)...)
	}

	var found []string
	for _, l := range lines {
		found = append(found, l.where)
	}
	// The command lines that must be there: a test that finds nothing
	// proves nothing.
	for _, must := range []string{
		"Dockerfile: CMD",
		"Dockerfile: HEALTHCHECK",
		"docker-compose.yml: services.fixtures.command",
		"docker-compose.yml: services.fixtures.healthcheck.test",
		"docker-compose.yml: services.smoke.command",
		"docker-compose.yml: services.nightly.command",
		"docker-compose.yml: services.nightly.healthcheck.test",
		"docker-compose.yml: services.nightly-remote.command",
		"deploy/kubernetes/cronjob.yaml: CronJob/clay-agent-snapshot containers.agent",
		"docker-compose.yml: services.scim.command",
		"docker-compose.yml: services.scim.healthcheck.test",
		"deploy/kubernetes/scim.yaml: Deployment/clay-agent-scim containers.agent",
	} {
		assert.Contains(t, found, must)
	}

	for _, l := range lines {
		t.Run(l.where, func(t *testing.T) {
			require.NotEmpty(t, l.args, "no arguments")
			a := newApp(strings.NewReader(""), io.Discard, io.Discard)
			if _, _, err := a.root.Find(l.args); err != nil {
				if why, ok := pendingCommands[l.args[0]]; ok {
					t.Skipf("%s: %s", why, strings.Join(l.args, " "))
				}
			}
			assert.NoError(t, checkCommandLine(l.env, l.args), "agent %s", strings.Join(l.args, " "))
		})
	}
}

// checkCommandLine parses args with the real command tree and runs every
// check that has no side effects: the arguments' validator, required
// flags and flag groups, the global set-up (environment and global flags)
// and the command's PreRunE, where each command does its own validation.
func checkCommandLine(env map[string]string, args []string) error {
	a := newApp(strings.NewReader(""), io.Discard, io.Discard)
	a.getenv = func(k string) string { return env[k] }
	cmd, rest, err := a.root.Find(args)
	if err != nil {
		return err
	}
	cmd.InitDefaultHelpFlag()
	cmd.InitDefaultVersionFlag()
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	for _, info := range []string{"help", "version"} {
		if on, err := cmd.Flags().GetBool(info); err == nil && on {
			return nil
		}
	}
	if !cmd.Runnable() {
		return fmt.Errorf("%q only prints help: name one of its subcommands", cmd.CommandPath())
	}
	pos := cmd.Flags().Args()
	if err := cmd.ValidateArgs(pos); err != nil {
		return err
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return err
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return err
	}
	if err := a.setup(cmd); err != nil {
		return err
	}
	if cmd.PreRunE != nil {
		return cmd.PreRunE(cmd, pos)
	}
	return nil
}

func TestCheckCommandLine(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // "" for no error
	}{
		{name: "help", args: []string{"--help"}},
		{name: "snapshot", args: []string{"snapshot", "--dir", "/snapshots", "--workspace", "1"}},
		{name: "serve", args: []string{"serve", "--dir", "/s", "--snapshot-at", "02:30", "--workspace", "1"}},
		{name: "workspace from the environment", env: map[string]string{"CLAY_WORKSPACE": "1"}, args: []string{"serve", "--dir", "/s", "--snapshot-every", "1h"}},
		{name: "healthcheck", args: []string{"healthcheck", "--url", "http://127.0.0.1:8080/healthz"}},
		{name: "unknown command", args: []string{"snapshots"}, want: `unknown command "snapshots"`},
		{name: "unknown flag", args: []string{"snapshot", "--dir", "/s", "--kept", "3"}, want: "unknown flag: --kept"},
		{name: "bad value", args: []string{"snapshot", "--dir", "/s", "--keep", "ninety"}, want: "--keep"},
		{name: "extra argument", args: []string{"healthcheck", "now"}, want: "takes no arguments"},
		{name: "PreRunE's validation", args: []string{"serve", "--dir", "/s", "--snapshot-at", "25:00", "--workspace", "1"}, want: "--snapshot-at"},
		{name: "the global set-up", args: []string{"snapshot", "--dir", "/s", "--timeout", "0s"}, want: "--timeout must be positive"},
		{name: "a bad environment", env: map[string]string{"CLAY_CHROME_NO_SANDBOX": "yes please"}, args: []string{"healthcheck"}, want: "CLAY_CHROME_NO_SANDBOX"},
		{name: "a parent command alone", args: []string{"fixtures"}, want: "only prints help"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkCommandLine(tc.env, tc.args)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// dockerImage is what the Dockerfile's final stage says about running the
// agent.
type dockerImage struct {
	env        map[string]string
	entrypoint []string
	commands   []deployedCommand // CMD and HEALTHCHECK
}

// readDockerfile reads the final stage of a Dockerfile: its ENV, its
// ENTRYPOINT (which must run the agent) and, as agent command lines, its
// CMD and HEALTHCHECK.
func readDockerfile(t *testing.T, file string) dockerImage {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var (
		instructions []string
		cur          strings.Builder
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		instructions = append(instructions, cur.String())
		cur.Reset()
	}
	require.NoError(t, sc.Err())

	img := dockerImage{env: map[string]string{}}
	var cmd, health []string
	name := filepath.Base(file)
	for _, ins := range instructions {
		op, rest, _ := strings.Cut(ins, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(op) {
		case "FROM": // a new stage: only the last one runs
			img = dockerImage{env: map[string]string{}}
			cmd, health = nil, nil
		case "ENV":
			for k, v := range parseDockerEnv(t, rest) {
				img.env[k] = v
			}
		case "ENTRYPOINT":
			img.entrypoint = dockerExecForm(t, name+": ENTRYPOINT", rest)
		case "CMD":
			cmd = dockerExecForm(t, name+": CMD", rest)
		case "HEALTHCHECK":
			for strings.HasPrefix(rest, "--") {
				_, rest, _ = strings.Cut(rest, " ")
				rest = strings.TrimSpace(rest)
			}
			if rest == "NONE" {
				health = nil
				continue
			}
			form, ok := strings.CutPrefix(rest, "CMD ")
			require.True(t, ok, "%s: HEALTHCHECK %q: want CMD [...]", name, rest)
			health = dockerExecForm(t, name+": HEALTHCHECK", strings.TrimSpace(form))
		}
	}
	require.NotEmpty(t, img.entrypoint, "%s: no ENTRYPOINT", name)
	require.Equal(t, agentBinary, img.entrypoint[len(img.entrypoint)-1], "%s: the ENTRYPOINT must end with the agent", name)
	if cmd != nil {
		img.commands = append(img.commands, deployedCommand{where: name + ": CMD", env: img.env, args: cmd})
	}
	if health != nil {
		require.Equal(t, agentBinary, health[0], "%s: HEALTHCHECK must run the agent (the image has no curl or wget)", name)
		img.commands = append(img.commands, deployedCommand{where: name + ": HEALTHCHECK", env: img.env, args: health[1:]})
	}
	return img
}

// dockerExecForm parses the JSON array form of CMD, ENTRYPOINT or HEALTHCHECK.
func dockerExecForm(t *testing.T, where, s string) []string {
	t.Helper()
	var argv []string
	require.NoError(t, json.Unmarshal([]byte(s), &argv), "%s: want the exec form [\"...\"], got %s", where, s)
	return argv
}

// parseDockerEnv parses "K=V K2=\"V 2\"" and the legacy "K V".
func parseDockerEnv(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if k, v, ok := strings.Cut(s, " "); ok && !strings.Contains(k, "=") {
		out[k] = strings.TrimSpace(v)
		return out
	}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		k, rest, ok := strings.Cut(s, "=")
		require.True(t, ok, "ENV %q", s)
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			require.GreaterOrEqual(t, end, 0, "ENV %q: unterminated quote", s)
			v, s = rest[1:end+1], rest[end+2:]
		} else {
			v, s, _ = strings.Cut(rest, " ")
		}
		out[k] = v
	}
	return out
}

// composeService is the part of a compose service that decides how the
// agent runs.
type composeService struct {
	Build       any       `yaml:"build"`
	Image       string    `yaml:"image"`
	Entrypoint  any       `yaml:"entrypoint"`
	Command     yaml.Node `yaml:"command"`
	Environment yaml.Node `yaml:"environment"`
	Healthcheck *struct {
		Test    yaml.Node `yaml:"test"`
		Disable bool      `yaml:"disable"`
	} `yaml:"healthcheck"`
}

// composeCommands returns the agent command lines of the services that run
// the agent image: their command (or the image's CMD) and their health
// check.
func composeCommands(t *testing.T, file string, img dockerImage) []deployedCommand {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var doc struct {
		Services map[string]composeService `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	require.NotEmpty(t, doc.Services, "%s: no services", file)
	name := filepath.Base(file)

	var out []deployedCommand
	names := make([]string, 0, len(doc.Services))
	for n := range doc.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, svc := range names {
		s := doc.Services[svc]
		if s.Build == nil && imageBaseName(s.Image) != agentImage {
			continue
		}
		where := fmt.Sprintf("%s: services.%s", name, svc)
		require.Nil(t, s.Entrypoint, "%s: an agent service keeps the image's entrypoint", where)

		env := mergeEnv(img.env, composeEnvironment(t, where, &s.Environment))
		if s.Command.Kind == 0 {
			// no command: the image's CMD, which the Dockerfile check covers
		} else {
			require.Equal(t, yaml.SequenceNode, s.Command.Kind, "%s.command: use the list form", where)
			var args []string
			require.NoError(t, s.Command.Decode(&args))
			out = append(out, deployedCommand{where: where + ".command", env: env, args: composeExpandAll(t, where, args)})
		}
		if s.Healthcheck == nil || s.Healthcheck.Disable || s.Healthcheck.Test.Kind == 0 {
			continue
		}
		require.Equal(t, yaml.SequenceNode, s.Healthcheck.Test.Kind, "%s.healthcheck.test: use the list form", where)
		var test []string
		require.NoError(t, s.Healthcheck.Test.Decode(&test))
		if len(test) == 1 && test[0] == "NONE" {
			continue
		}
		require.GreaterOrEqual(t, len(test), 2, "%s.healthcheck.test", where)
		require.Equal(t, "CMD", test[0], "%s.healthcheck.test: use [\"CMD\", %q, ...]", where, agentBinary)
		require.Equal(t, agentBinary, test[1], "%s.healthcheck.test must run the agent (the image has no curl or wget)", where)
		out = append(out, deployedCommand{where: where + ".healthcheck.test", env: env, args: composeExpandAll(t, where, test[2:])})
	}
	return out
}

// composeEnvironment reads a service's environment, map or list form.
func composeEnvironment(t *testing.T, where string, n *yaml.Node) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch n.Kind {
	case 0:
	case yaml.MappingNode:
		var m map[string]string
		require.NoError(t, n.Decode(&m), "%s.environment", where)
		for k, v := range m {
			out[k] = expandCompose(t, where, v)
		}
	case yaml.SequenceNode:
		var l []string
		require.NoError(t, n.Decode(&l), "%s.environment", where)
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = expandCompose(t, where, v)
		}
	default:
		t.Fatalf("%s.environment: want a map or a list", where)
	}
	return out
}

func composeExpandAll(t *testing.T, where string, args []string) []string {
	t.Helper()
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = expandCompose(t, where, a)
	}
	return out
}

func expandCompose(t *testing.T, where, s string) string {
	t.Helper()
	v, err := composeInterpolate(s)
	require.NoError(t, err, "%s: %q", where, s)
	return v
}

// composeInterpolate expands compose's variables as `docker compose` does with
// none of them set: ${VAR:-default} and ${VAR-default} give the default,
// ${VAR}, $VAR and ${VAR:+alt} give "", $$ is a dollar sign, and
// ${VAR:?msg} or ${VAR?msg} is an error (compose would refuse to start).
func composeInterpolate(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in %q", s)
			}
			expr := s[i+2 : i+end]
			i += end
			name, op, arg := composeSplitVar(expr)
			if name == "" {
				return "", fmt.Errorf("bad variable ${%s}", expr)
			}
			switch op {
			case ":-", "-":
				inner, err := composeInterpolate(arg)
				if err != nil {
					return "", err
				}
				b.WriteString(inner)
			case ":?", "?":
				return "", fmt.Errorf("${%s} requires %s to be set (%s): give it a default", expr, name, arg)
			case "", ":+", "+":
			default:
				return "", fmt.Errorf("bad variable ${%s}", expr)
			}
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || j > i+1 && s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == i+1 {
			return "", fmt.Errorf("a lone $ in %q: write $$", s)
		}
		i = j - 1
	}
	return b.String(), nil
}

// composeSplitVar splits "NAME:-default" into "NAME", ":-", "default".
func composeSplitVar(expr string) (name, op, arg string) {
	i := strings.IndexAny(expr, ":-?+")
	if i < 0 {
		return expr, "", ""
	}
	name, rest := expr[:i], expr[i:]
	for _, o := range []string{":-", ":?", ":+", "-", "?", "+"} {
		if a, ok := strings.CutPrefix(rest, o); ok {
			return name, o, a
		}
	}
	return name, rest, ""
}

func TestComposeInterpolate(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{in: "serve", want: "serve"},
		{in: "${CLAY_WORKSPACE:-1234}", want: "1234"},
		{in: "${CLAY_WORKSPACE-1234}", want: "1234"},
		{in: "--listen=${ADDR:-0.0.0.0}:${PORT:-8080}", want: "--listen=0.0.0.0:8080"},
		{in: "${UNSET}", want: ""},
		{in: "$UNSET/x", want: "/x"},
		{in: "${SET:+alt}", want: ""},
		{in: "cost: $$5", want: "cost: $5"},
		{in: "${WS:?set the workspace}", err: "requires WS to be set"},
		{in: "${WS", err: "unterminated"},
		{in: "a $ b", err: "lone $"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := composeInterpolate(tc.in)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// kubernetesManifests lists the YAML files of a manifest directory, but
// not kustomization.yaml, which runs nothing.
func kubernetesManifests(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		require.NoError(t, err)
		out = append(out, m...)
	}
	out = slices.DeleteFunc(out, func(p string) bool {
		return strings.HasPrefix(filepath.Base(p), "kustomization.")
	})
	require.NotEmpty(t, out, "no manifests in %s", dir)
	sort.Strings(out)
	return out
}

// k8sContainer is the part of a container spec that decides how the agent
// runs.
type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
}

type k8sPodSpec struct {
	InitContainers []k8sContainer `yaml:"initContainers"`
	Containers     []k8sContainer `yaml:"containers"`
}

type k8sPodTemplate struct {
	Spec k8sPodSpec `yaml:"spec"`
}

// k8sObject holds the pod spec of the kinds that have one.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		k8sPodSpec  `yaml:",inline"`
		Template    k8sPodTemplate `yaml:"template"`
		JobTemplate struct {
			Spec struct {
				Template k8sPodTemplate `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

// podSpec returns the object's pod spec, if its kind has one.
func (o k8sObject) podSpec() (k8sPodSpec, bool) {
	switch o.Kind {
	case "Pod":
		return o.Spec.k8sPodSpec, true
	case "Job", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		return o.Spec.Template.Spec, true
	case "CronJob":
		return o.Spec.JobTemplate.Spec.Template.Spec, true
	}
	return k8sPodSpec{}, false
}

// kubernetesCommands returns the agent command lines of the containers
// that run the agent image with its entrypoint, or with the agent binary
// as their command. Other containers (a shell in an init container) are
// not the agent's.
func kubernetesCommands(t *testing.T, file string, imageEnv map[string]string) []deployedCommand {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	rel := path.Join("deploy", "kubernetes", filepath.Base(file))
	dec := yaml.NewDecoder(f)
	var out []deployedCommand
	for {
		var obj k8sObject
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, file)
		spec, ok := obj.podSpec()
		if !ok {
			continue
		}
		for _, c := range append(append([]k8sContainer(nil), spec.InitContainers...), spec.Containers...) {
			if imageBaseName(c.Image) != agentImage {
				continue
			}
			args := c.Args
			switch {
			case len(c.Command) == 0:
			case c.Command[0] == agentBinary:
				args = append(append([]string(nil), c.Command[1:]...), c.Args...)
			default:
				continue
			}
			env := mergeEnv(imageEnv, nil)
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			out = append(out, deployedCommand{
				where: fmt.Sprintf("%s: %s/%s containers.%s", rel, obj.Kind, obj.Metadata.Name, c.Name),
				env:   env,
				args:  args,
			})
		}
	}
	return out
}

// imageBaseName reduces an image reference to its name: no registry, no tag,
// no digest.
func imageBaseName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	name := path.Base(ref)
	name, _, _ = strings.Cut(name, ":")
	return name
}

// mergeEnv merges b over a copy of a.
func mergeEnv(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
