package kube

import (
	"fmt"

	"github.com/distribution/reference"
)

// CheckImage refuses an image reference that no runtime can pull, as
// kubectl debug and kubectl run do before they send anything (the same
// grammar, from the distribution project, and kubectl's message). The API
// server accepts such an image: the kubelet then reports InvalidImageName,
// and an ephemeral container holding it can never be removed from its pod.
func CheckImage(image string) error {
	if !reference.ReferenceRegexp.MatchString(image) {
		return fmt.Errorf("invalid image name %q: %v", image, reference.ErrReferenceInvalidFormat)
	}
	return nil
}
