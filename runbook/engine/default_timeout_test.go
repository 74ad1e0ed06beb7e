package engine_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
)

// TestDefaultTimeoutInMessage checks that the loader's message for
// "timeout: 0s" names the engine's default deadline.
func TestDefaultTimeoutInMessage(t *testing.T) {
	f, _ := reflect.TypeOf(runbook.Spec{}).FieldByName("Timeout")
	want := "the default of " + strings.TrimSuffix(engine.DefaultTimeout.String(), "0s")
	if got := f.Tag.Get("omit"); !strings.HasPrefix(got, want+" ") {
		t.Errorf("spec.timeout's omit tag is %q, want it to start with %q", got, want)
	}
}
