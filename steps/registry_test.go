package steps

import "testing"

func TestKindsAreRegistered(t *testing.T) {
	for _, name := range []string{"apply", "get", "wait", "logs", "events", "delete", "local", "note"} {
		t.Run(name, func(t *testing.T) {
			k, ok := Lookup(name)
			if !ok {
				t.Fatalf("kind %s is not registered", name)
			}
			if k.New == nil || k.New() == nil || k.Summary == "" || len(k.Results) == 0 {
				t.Errorf("kind %s is incomplete: %+v", name, k)
			}
		})
	}
}
