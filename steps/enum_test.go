package steps

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
)

// TestEnumTagsMatchTheChecks checks the closed sets the schema offers
// editors (enum tags) against what the code accepts: the profiles kube
// knows, and every kind's field with an enum tag found by reflection.
func TestEnumTagsMatchTheChecks(t *testing.T) {
	f, _ := reflect.TypeOf(DebugContainer{}).FieldByName("Profile")
	var profiles []string
	for _, p := range kube.Profiles() {
		profiles = append(profiles, string(p))
	}
	slices.Sort(profiles)
	tagged := strings.Split(f.Tag.Get("enum"), ",")
	slices.Sort(tagged)
	if !slices.Equal(profiles, tagged) {
		t.Errorf("profile enum %v, kube's profiles %v", tagged, profiles)
	}
	found := 0
	for _, k := range Kinds() {
		v := reflect.ValueOf(k.New()).Elem()
		for i := 0; i < v.NumField(); i++ {
			fld := v.Type().Field(i)
			enum := fld.Tag.Get("enum")
			if enum == "" || fld.Type.Kind() != reflect.String {
				continue
			}
			found++
			yamlName, _, _ := strings.Cut(fld.Tag.Get("yaml"), ",")
			for _, val := range strings.Split(enum, ",") {
				a := k.New()
				reflect.ValueOf(a).Elem().Field(i).SetString(val)
				for _, e := range a.Check(&runbook.CheckContext{AllowPrivileged: true}) {
					if e.Field == yamlName {
						t.Errorf("%s.%s = %q is in the enum but Check says: %s", k.Name, yamlName, val, e.Message)
					}
				}
			}
			a := k.New()
			reflect.ValueOf(a).Elem().Field(i).SetString("Nope")
			rejected := false
			for _, e := range a.Check(&runbook.CheckContext{AllowPrivileged: true}) {
				rejected = rejected || e.Field == yamlName
			}
			if !rejected {
				t.Errorf("%s.%s = Nope passes Check", k.Name, yamlName)
			}
		}
	}
	if found < 4 {
		t.Errorf("found %d enum fields in the kinds, want the waitFor fields at least", found)
	}
}
