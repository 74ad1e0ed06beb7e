package kube

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
)

// suffixAlphabet is the alphabet of generated name suffixes. It is the one
// apimachinery's rand.String uses for kubectl's generated names: no vowels (so
// no accidental words) and no characters that are easily confused (0/o, 1/l).
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// suffixLength is the length of generated name suffixes, as in kubectl.
const suffixLength = 5

// ShortSuffix returns a 5-character suffix made of [a-z0-9] for generated names
// (node-debugger-NODE-xxxxx, debugger-xxxxx). Unlike kubectl, which draws a random
// suffix, it is derived from seed, so a plan and the run that follows it name
// the same objects and a test can predict them.
func ShortSuffix(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	n := binary.BigEndian.Uint64(sum[:8])
	b := make([]byte, suffixLength)
	for i := range b {
		b[i] = suffixAlphabet[n%uint64(len(suffixAlphabet))]
		n /= uint64(len(suffixAlphabet))
	}
	return string(b)
}

// DebugContainerName returns the name of a debug container whose name the user
// did not choose: "debugger-" plus ShortSuffix(seed), like kubectl's
// "debugger-xxxxx", re-derived until it differs from every name in existing
// (the pod's containers, init containers and ephemeral containers).
func DebugContainerName(existing []string, seed string) string {
	for i := 0; ; i++ {
		s := seed
		if i > 0 {
			s = seed + "#" + strconv.Itoa(i)
		}
		name := "debugger-" + ShortSuffix(s)
		if !slices.Contains(existing, name) {
			return name
		}
	}
}
