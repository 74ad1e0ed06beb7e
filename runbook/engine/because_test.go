package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestBecauseOfSaysEachThingOnce(t *testing.T) {
	timeout := errors.New("the step's timeout of 3s expired")
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("waiting for pod x: %w", context.Canceled), "the step's timeout of 3s expired (waiting for pod x)"},
		{fmt.Errorf("waiting for pod x: %v (last seen: Pending)", timeout), "the step's timeout of 3s expired (waiting for pod x: (last seen: Pending))"},
		{context.Canceled, "the step's timeout of 3s expired"},
		{fmt.Errorf("exec: %w", ErrInterrupted), "interrupted (exec)"},
	}
	for _, tt := range tests {
		cause := timeout
		if errors.Is(tt.err, ErrInterrupted) {
			cause = ErrInterrupted
		}
		if got := becauseOf(cause, tt.err).Error(); got != tt.want {
			t.Errorf("becauseOf(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
