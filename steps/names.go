package steps

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// nameRule is how the API server validates one sort of name.
type nameRule struct {
	what  string
	check func(string) []string
}

// The names a step may write literally, each with the API server's rule:
// a namespace and a container are DNS-1123 labels, a node a DNS-1123
// subdomain; the name of an object of any kind is at least a valid path
// segment (no "/" nor "%", not "." nor ".."), whatever its kind adds.
var (
	namespaceName = nameRule{"namespace", validation.IsDNS1123Label}
	containerName = nameRule{"container name", validation.IsDNS1123Label}
	nodeName      = nameRule{"node name", validation.IsDNS1123Subdomain}
	objectName    = nameRule{"name", content.IsPathSegmentName}
)

// checkName checks a name written without ${{ }} against its rule, so that
// validate says at file:line:col what the API server would refuse (or
// could never find) mid-run. A name with an expression is checked when the
// run renders it.
func checkName(field string, t expression.Template, r nameRule) []runbook.FieldError {
	if t.IsZero() || t.HasExpressions() {
		return nil
	}
	if msgs := r.check(t.Raw); len(msgs) > 0 {
		return []runbook.FieldError{fieldErr(field, "%s %q is not valid: %s", r.what, t.Raw, strings.Join(msgs, "; "))}
	}
	return nil
}
