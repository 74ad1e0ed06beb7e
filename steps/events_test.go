package steps

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestEventsRun(t *testing.T) {
	at := func(s string) metav1.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return metav1.NewTime(tm)
	}
	ev := func(name, kind, obj, reason string, mod func(*corev1.Event)) runtime.Object {
		e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: obj, Namespace: "default"},
			Type:           "Normal", Reason: reason, Message: reason + " " + obj + "\nsecond line"}
		mod(e)
		return e
	}
	events := []runtime.Object{
		ev("b", "Pod", "web", "Pulled", func(e *corev1.Event) { e.LastTimestamp = at("2025-01-02T10:00:05+02:00") }),
		ev("a", "Pod", "web", "Scheduled", func(e *corev1.Event) { e.EventTime = metav1.NewMicroTime(at("2025-01-02T08:00:01Z").Time) }),
		ev("c", "Pod", "db", "Killing", func(e *corev1.Event) { e.Type = "Warning"; e.FirstTimestamp = at("2025-01-02T08:00:03Z") }),
		ev("d", "Pod", "web", "Started", func(e *corev1.Event) {
			e.LastTimestamp, e.FirstTimestamp, e.Count = at("2025-01-02T08:00:05Z"), at("2025-01-02T08:00:01Z"), 9
		}),
	}
	tests := []struct {
		name      string
		spec      *EventsStep
		wantNames []string
		wantOut   string
		want      *Outcome
	}{
		{"namespace", &EventsStep{}, []string{"a", "c", "b", "d"},
			"LAST SEEN                                             TYPE     REASON     OBJECT   MESSAGE\n" +
				"2025-01-02T08:00:01Z                                  Normal   Scheduled  Pod/web  Scheduled web second line\n" +
				"2025-01-02T08:00:03Z                                  Warning  Killing    Pod/db   Killing db second line\n" +
				"2025-01-02T08:00:05Z                                  Normal   Pulled     Pod/web  Pulled web second line\n" +
				"2025-01-02T08:00:05Z (x9 since 2025-01-02T08:00:01Z)  Normal   Started    Pod/web  Started web second line\n",
			&Outcome{Target: "events in default", Kubectl: "kubectl events -n default"}},
		{"one object", &EventsStep{For: &EventsFor{Kind: "Pod", Name: tpl(t, "${{ vars.name }}")}}, []string{"a", "b", "d"}, "",
			&Outcome{Target: "events of pod default/web", Kubectl: "kubectl events -n default --for pod/web"}},
		{"none", &EventsStep{Namespace: tpl(t, "empty")}, []string{}, "LAST SEEN  TYPE  REASON  OBJECT  MESSAGE\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, events)
			out := tt.spec.Run(testCtx(t), env.Env)
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			names := []string{}
			for _, o := range out.Objects {
				m := o.(map[string]any)
				names = append(names, m["metadata"].(map[string]any)["name"].(string))
				if m["kind"] != "Event" {
					t.Errorf("kind %v", m["kind"])
				}
			}
			if diff := cmp.Diff(tt.wantNames, names); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if tt.wantOut != "" {
				if diff := cmp.Diff(tt.wantOut, out.Stdout); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			if tt.want != nil {
				got := *out
				got.Objects, got.Stdout = nil, ""
				if diff := cmp.Diff(tt.want, &got); diff != "" {
					t.Errorf("outcome (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestEventsRunCapsOutput(t *testing.T) {
	var events []runtime.Object
	for _, n := range []string{"a", "b", "c"} {
		events = append(events, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "default"}, Reason: "R", Message: strings.Repeat("x", 100)})
	}
	env := newTestEnv(t, events)
	env.MaxOutput = 50
	out := (&EventsStep{}).Run(testCtx(t), env.Env)
	if out.Err != nil || len(out.Stdout) != 50 || !out.StdoutTruncated || len(out.Objects) != 3 {
		t.Errorf("err %v, %d bytes, truncated %v, %d objects; want 50 bytes truncated, 3 objects", out.Err, len(out.Stdout), out.StdoutTruncated, len(out.Objects))
	}
}

// TestEventsForKindInAnyCase: kubectl events --for statefulset/db works; an events step
// with kind statefulset or Statefulset asks for the events of StatefulSet db (an event names
// its object's kind as manifests spell it: Statefulset found nothing).
func TestEventsForKindInAnyCase(t *testing.T) {
	for _, kind := range []string{"statefulset", "Statefulset", "StatefulSet"} {
		pl, err := (&EventsStep{For: &EventsFor{Kind: kind, Name: tpl(t, "db")}}).Plan(testPlanner(t))
		if err != nil {
			t.Fatal(err)
		}
		if want := "involvedObject.kind=StatefulSet"; !strings.Contains(pl.Calls[0].Note, want) {
			t.Errorf("kind %s: the list's %q does not select %s", kind, pl.Calls[0].Note, want)
		}
	}
}
