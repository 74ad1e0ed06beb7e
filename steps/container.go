package steps

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// DefaultDebugContainer is the name of a debug container when none is given.
const DefaultDebugContainer = "debugger"

// DebugContainer is the container that debug, copy and node steps add.
type DebugContainer struct {
	// Image of the debug container, e.g. busybox:1.36.
	Image expression.Template `yaml:"image,omitempty" json:"image,omitempty"`
	// Container is the debug container's name (default debugger).
	Container expression.Template `yaml:"container,omitempty" json:"container,omitempty"`
	// Command replaces the image's entrypoint (argv, no shell).
	Command []expression.Template `yaml:"command,omitempty" json:"command,omitempty"`
	// Args are the arguments to the entrypoint.
	Args []expression.Template `yaml:"args,omitempty" json:"args,omitempty"`
	// Env sets environment variables; values marked secret are redacted.
	Env []EnvVar `yaml:"env,omitempty" json:"env,omitempty"`
	// ImagePullPolicy: Always, IfNotPresent or Never.
	ImagePullPolicy string `yaml:"imagePullPolicy,omitempty" json:"imagePullPolicy,omitempty" enum:"Always,IfNotPresent,Never"`
	// Profile is kubectl's debugging profile: general (default), baseline,
	// restricted, netadmin, sysadmin or legacy. It may be an expression,
	// e.g. to use restricted where the namespace enforces it; a profile
	// known only at run time is checked for privilege when the step runs.
	Profile expression.Template `yaml:"profile,omitempty" json:"profile,omitempty" enum:"legacy,general,baseline,restricted,netadmin,sysadmin"`
	// Custom is a partial container spec merged after the profile, as
	// kubectl debug --custom does (strategic merge patch).
	Custom map[string]any `yaml:"custom,omitempty" json:"custom,omitempty"`
}

type renderFunc func(expression.Template) (string, error)

func plannerRender(p *Planner) renderFunc {
	return func(t expression.Template) (string, error) { return p.Render(t), nil }
}

func renderList(r renderFunc, ts []expression.Template) ([]string, error) {
	var out []string
	for _, t := range ts {
		s, err := r(t)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// build renders the fields into kube's options. It returns the values of
// secret env vars, for redaction.
func (d *DebugContainer) build(r renderFunc) (kube.DebugContainer, []string, error) {
	var out kube.DebugContainer
	var secrets []string
	var err error
	if out.Image, err = r(d.Image); err != nil {
		return out, nil, err
	}
	if out.Name, err = r(d.Container); err != nil {
		return out, nil, err
	}
	if out.Name == "" {
		out.Name = DefaultDebugContainer
	}
	if out.Command, err = renderList(r, d.Command); err != nil {
		return out, nil, err
	}
	if out.Args, err = renderList(r, d.Args); err != nil {
		return out, nil, err
	}
	for _, e := range d.Env {
		v, err := r(e.Value)
		if err != nil {
			return out, nil, err
		}
		out.Env = append(out.Env, corev1.EnvVar{Name: e.Name, Value: v})
		if e.Secret && v != "" {
			secrets = append(secrets, v)
		}
	}
	out.ImagePullPolicy = corev1.PullPolicy(d.ImagePullPolicy)
	profile, err := r(d.Profile)
	if err != nil {
		return out, nil, err
	}
	if d.Profile.HasExpressions() && strings.HasPrefix(profile, "<") {
		// A plan cannot know a profile chosen at run time: it shows the
		// default one and says so.
		profile = ""
	} else if d.Profile.HasExpressions() {
		if _, err := kube.ParseProfile(profile); err != nil {
			return out, nil, fmt.Errorf("profile %q: %v", d.Profile.Raw, err)
		}
	}
	out.Profile = kube.Profile(profile)
	out.Custom = d.Custom
	return out, secrets, nil
}

// check validates the container fields shared by the debug kinds.
func (d *DebugContainer) check(c *runbook.CheckContext, mode kube.Mode, imageRequired bool) []runbook.FieldError {
	var errs []runbook.FieldError
	if imageRequired && d.Image.IsZero() {
		errs = append(errs, fieldErr("image", "image is required"))
	}
	errs = append(errs, checkName("container", d.Container, containerName)...)
	if !d.Image.IsZero() && !d.Image.HasExpressions() {
		if err := kube.CheckImage(d.Image.Raw); err != nil {
			errs = append(errs, fieldErr("image", "%v", err))
		}
	}
	switch d.ImagePullPolicy {
	case "", "Always", "IfNotPresent", "Never":
	default:
		errs = append(errs, fieldErr("imagePullPolicy", "imagePullPolicy must be Always, IfNotPresent or Never, not %q", d.ImagePullPolicy))
	}
	if p := d.Profile; !p.IsZero() && !p.HasExpressions() {
		if _, err := kube.ParseProfile(p.Raw); err != nil {
			errs = append(errs, fieldErr("profile", "%v", err))
		}
	}
	if d.Custom != nil {
		if _, err := kube.CheckCustom(d.Custom, mode); err != nil {
			errs = append(errs, fieldErr("custom", "%v", err))
		} else if !d.Profile.HasExpressions() {
			dc := kube.DebugContainer{Name: DefaultDebugContainer, Image: "busybox", Profile: kube.Profile(d.Profile.Raw), Custom: d.Custom}
			if why := kube.RootConflict(dc, mode); why != "" {
				errs = append(errs, fieldErr("custom", "%s", why))
			}
		}
	}
	if reasons := d.privilegeReasons(mode); len(reasons) > 0 && !c.AllowPrivileged {
		field := "profile"
		if d.Profile.IsZero() || !kube.ProfileNeedsPrivilege(kube.Profile(d.Profile.Raw), mode) {
			field = "custom"
		}
		errs = append(errs, fieldErr(field, "privileged (%s): set spec.allowPrivileged: true (or --allow-privileged) to allow it", strings.Join(reasons, ", ")))
	}
	return errs
}

func (d *DebugContainer) privilegeReasons(mode kube.Mode) []string {
	var reasons []string
	if p := d.Profile; !p.IsZero() && !p.HasExpressions() && kube.ProfileNeedsPrivilege(kube.Profile(p.Raw), mode) {
		reasons = append(reasons, "profile "+p.Raw)
	}
	if d.Custom != nil {
		if c, err := kube.CheckCustom(d.Custom, mode); c != nil && err == nil {
			reasons = append(reasons, kube.ContainerPrivilegedReasons("custom", c.SecurityContext)...)
		}
	}
	return reasons
}

// kubectlArgs renders the common container flags of a kubectl debug
// command, so that the line builds what the step builds: the profile
// always explicit (kubectl before v1.36 defaults to legacy, runbook to
// general), env values as kubectl's --env parser reads them, a custom
// container spec carried inline (bash process substitution), in a fixed
// order.
func kubectlArgs(c kube.DebugContainer) []string {
	var args []string
	if c.Image != "" {
		args = append(args, "--image="+c.Image)
	}
	if c.Name != "" {
		args = append(args, "-c", c.Name)
	}
	args = append(args, "--profile="+string(cmp.Or(c.Profile, kube.ProfileGeneral)))
	if c.ImagePullPolicy != "" {
		args = append(args, "--image-pull-policy="+string(c.ImagePullPolicy))
	}
	env := slices.Clone(c.Env)
	sort.SliceStable(env, func(i, j int) bool { return env[i].Name < env[j].Name })
	for _, e := range env {
		args = append(args, "--env="+envFlagValue(e.Name, e.Value))
	}
	return args
}

// envFlagValue writes NAME=VALUE as kubectl's --env (pflag's
// StringToString) reads it back. A pair with one "=" is taken as it is,
// less any '"' at its ends; a pair with more is read as one CSV record
// whose fields are pairs. So a pair that has a second "=" or ends in '"'
// is written as a quoted CSV field, and a quoted field whose pair has only
// one "=" is written twice (the same pair: kubectl's map keeps one) so
// that the CSV reading applies.
func envFlagValue(name, value string) string {
	pair := name + "=" + value
	if !envFlagCSV(pair) {
		return pair
	}
	field := `"` + strings.ReplaceAll(pair, `"`, `""`) + `"`
	if strings.Count(pair, "=") == 1 {
		return field + "," + field
	}
	return field
}

// envFlagCSV says whether pflag reads the pair written as it is wrongly.
func envFlagCSV(pair string) bool {
	return strings.Count(pair, "=") > 1 || strings.HasPrefix(pair, `"`) || strings.HasSuffix(pair, `"`)
}

// envFlagsDiffer says why the --env flags cannot build the step's
// environment, or "": kubectl reads them into a map (one value per name)
// and its CSV reading turns a CR LF into LF.
func envFlagsDiffer(env []corev1.EnvVar) string {
	seen := map[string]bool{}
	for _, e := range env {
		if seen[e.Name] {
			return "kubectl keeps one value per --env name; the step sets " + e.Name + " twice"
		}
		seen[e.Name] = true
		if envFlagCSV(e.Name+"="+e.Value) && strings.Contains(e.Value, "\r\n") {
			return "kubectl's --env reads CR LF in " + e.Name + " as LF"
		}
	}
	return ""
}

// kubectlCustom is the --custom flag of a custom container spec, carried
// inline so the line runs as printed (in bash), or "".
func kubectlCustom(c kube.DebugContainer) string {
	if len(c.Custom) == 0 {
		return ""
	}
	b, err := json.Marshal(c.Custom)
	if err != nil {
		return ""
	}
	return " --custom=<(printf '%s' " + shellQuote(string(b)) + ")"
}

// kubectlDiffers appends to a kubectl line what it cannot reproduce of the
// step, as a shell comment ("  # differs: ..."), so that the line is never
// taken for an exact one where it is not; notes may add the mode's own.
func kubectlDiffers(line string, c kube.DebugContainer, notes ...string) string {
	if len(c.Command) > 0 && len(c.Args) > 0 {
		notes = append(notes, "kubectl puts command and args all in the container's command; this step sets command and args as written")
	}
	if n := envFlagsDiffer(c.Env); n != "" {
		notes = append(notes, n)
	}
	if len(notes) == 0 {
		return line
	}
	return line + "  # differs: " + strings.Join(notes, "; ")
}

// kubectlCommand renders the command of a debug container after --:
// kubectl needs --arguments-only to take args without a command.
func kubectlCommand(command, args []string) string {
	switch {
	case len(command) > 0:
		return " -- " + shellJoin(append(slices.Clone(command), args...))
	case len(args) > 0:
		return " --arguments-only -- " + shellJoin(args)
	}
	return ""
}

// shellJoin quotes argv for a shell command line shown to people.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// bodyOf turns an object or a JSON patch into plain data for a plan.
func bodyOf(v any) any {
	if b, ok := v.([]byte); ok {
		var out any
		if json.Unmarshal(b, &out) == nil {
			return out
		}
		return string(b)
	}
	return ObjectMap(v)
}

// checkRuntimePrivilege refuses a profile chosen by an expression that
// turned out privileged in a run that does not allow it.
func (d *DebugContainer) checkRuntimePrivilege(e *Env, p kube.Profile, mode kube.Mode) error {
	if d.Profile.HasExpressions() && kube.ProfileNeedsPrivilege(p, mode) && !e.AllowPrivileged {
		return fmt.Errorf("profile %q (from %s) is privileged: set spec.allowPrivileged: true (or --allow-privileged) to allow it", p, d.Profile.Raw)
	}
	return nil
}

// envRender adapts Env.Render to a renderFunc.
func envRender(e *Env) renderFunc { return e.Render }
