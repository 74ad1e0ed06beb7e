package steps

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// defaultContainerAnnotation names a pod's default container, as kubectl reads it
// (Istio sets it to the application's container, so its sidecar is not the default).
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// chooseContainer is the container a step acts on in pod, chosen as kubectl v1.37
// chooses it, and the lines kubectl prints on stderr about the choice:
//
//   - a named container must be in the pod (a container, an init or an ephemeral one);
//   - unnamed, the one the default-container annotation names; when the annotation names
//     a container the pod lacks, kubectl exec, attach and cp (rule kube.ChooseAttach,
//     podcmd.FindOrDefaultContainerByName) fail, while kubectl logs (kube.ChooseLogs,
//     logsForObjectWithClient) says `Default container name "x" not found in pod P` and
//     goes on to the first container;
//   - else the first container, saying `Defaulted container "a" out of: a, b, d (ephem),
//     c (init)` when the pod has others (init and ephemeral ones count).
func chooseContainer(pod *corev1.Pod, name string, rule kube.PodChoice) (string, []string, error) {
	if len(pod.Spec.Containers) == 0 {
		return "", nil, fmt.Errorf("pod %s/%s does not have any containers", pod.Namespace, pod.Name)
	}
	if name != "" {
		if !containerNameTaken(pod, name) {
			return "", nil, notValid(pod, name, "")
		}
		return name, nil, nil
	}
	var notes []string
	if ann := pod.Annotations[defaultContainerAnnotation]; ann != "" {
		switch {
		case containerNameTaken(pod, ann):
			return ann, nil, nil
		case rule != kube.ChooseLogs:
			return "", nil, notValid(pod, ann, "its annotation "+defaultContainerAnnotation+" names it, and "+rule.String()+
				" fails the same way: fix the annotation or name the step's container")
		}
		notes = append(notes, fmt.Sprintf("Default container name %q not found in pod %s", ann, pod.Name))
	}
	first := pod.Spec.Containers[0].Name
	if len(pod.Spec.Containers) > 1 || len(pod.Spec.InitContainers) > 0 || len(pod.Spec.EphemeralContainers) > 0 {
		notes = append(notes, fmt.Sprintf("Defaulted container %q out of: %s", first, allContainerNames(pod)))
	}
	return first, notes, nil
}

// notValid is kubectl's error for a container the pod lacks, with why the step asked for it.
func notValid(pod *corev1.Pod, name, why string) error {
	msg := fmt.Sprintf("container %s is not valid for pod %s out of: %s", name, pod.Name, allContainerNames(pod))
	if why != "" {
		msg += " (" + why + ")"
	}
	return fmt.Errorf("%s", msg)
}

// allContainerNames lists a pod's containers as kubectl does (podcmd.AllContainerNames):
// the containers, then the ephemeral ones, then the init ones, in the pod's order.
func allContainerNames(pod *corev1.Pod) string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name+" (ephem)")
	}
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	return strings.Join(names, ", ")
}

// stepContainer chooses a step's container as kubectl does (chooseContainer) when the
// step names none, or checks the one it names when the run has the pod anyway. It reads
// the pod only when the container is omitted and the target did not list the pod: from
// the run's pod watch, else with one GET. It returns the pod when it has it (nil
// otherwise), recorded in out.Pod; kubectl's notes go to out.Stderr, a line each (the
// live progress shows the step's stderr).
func stepContainer(ctx context.Context, e *Env, out *Outcome, t runTarget, name string, rule kube.PodChoice) (string, *corev1.Pod, error) {
	if name != "" && t.pod == nil {
		// The API server checks the name: no read, as with kubectl's -c.
		return name, nil, nil
	}
	pod, err := t.podOf(ctx, e, out)
	if err != nil {
		return name, nil, err
	}
	out.Pod = ObjectMap(pod)
	name, notes, err := chooseContainer(pod, name, rule)
	for _, n := range notes {
		out.Stderr += n + "\n"
	}
	return name, pod, err
}

// plannedContainer is a step's container as a plan knows it.
type plannedContainer struct {
	// call is the container the step's call names: the container, or
	// <default container of POD> when the plan does not know the pod.
	call string
	// kubectl is the container of the kubectl line, "" when the plan does not
	// know it (kubectl, given no -c, picks the same).
	kubectl string
}

// planContainer plans a step's container (rendered: name) as the run chooses it
// (stepContainer): when the container is omitted, the read of the pod, unless the
// target lists it, and the container kubectl would take when the plan knows the pod
// (an earlier step creates it, or plan --preflight read it), with kubectl's notes; a
// container the known pod lacks is where the run fails.
func planContainer(pt *plannedTarget, pl *Planned, t expression.Template, name string, rule kube.PodChoice) plannedContainer {
	omitted := name == "" || (t.HasExpressions() && kube.Unknown(name))
	if omitted && !pt.listed {
		note := "read the pod to choose the container as " + rule.String() + " does (from the run's pod watch when it has it)"
		if name != "" {
			note = "when container renders empty: " + note
		}
		pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Namespace: pt.ns, Name: pt.name, Note: note})
	}
	if pt.pod == nil || (name != "" && kube.Unknown(name)) {
		if name == "" {
			return plannedContainer{call: "<default container of " + pt.name + ">"}
		}
		return plannedContainer{call: name, kubectl: name}
	}
	chosen, ok := planChoice(pl, pt.pod, name, rule)
	if !ok {
		return plannedContainer{call: cmp.Or(name, "<default container of "+pt.name+">"), kubectl: name}
	}
	return plannedContainer{call: chosen, kubectl: chosen}
}

// planChoice chooses the container of a pod the plan knows, as the run will
// (chooseContainer): kubectl's notes go to the plan's notes, and a choice
// that fails is where the plan says the run fails (false).
func planChoice(pl *Planned, pod *corev1.Pod, name string, rule kube.PodChoice) (string, bool) {
	chosen, notes, err := chooseContainer(pod, name, rule)
	if err != nil {
		pl.Fails = err.Error()
		return "", false
	}
	for _, n := range notes {
		pl.Notes = append(pl.Notes, rule.String()+" says: "+n)
	}
	return chosen, true
}
