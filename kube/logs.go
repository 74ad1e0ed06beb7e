package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// LogOptions selects which part of a container's log to read.
type LogOptions struct {
	// TailLines keeps only the last lines; nil reads the whole log.
	TailLines *int64
	// Since keeps only lines newer than this; nil reads the whole log.
	Since *time.Duration
	// Previous reads the log of the previous instance of a restarted container.
	Previous bool
	// MaxBytes keeps the first MaxBytes of the log (DefaultMaxBytes if <= 0).
	MaxBytes int
}

// Logs reads a container's log, like kubectl logs (without following). It returns at most
// opts.MaxBytes of it and whether there was more; the server is asked for one byte more
// than the cap, so a long log is not transferred in full.
func Logs(ctx context.Context, c *Clients, namespace, pod, container string, opts LogOptions) (string, bool, error) {
	if c == nil || c.Kube == nil {
		return "", false, errors.New("logs: no cluster client")
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	limit := int64(maxBytes) + 1
	po := &corev1.PodLogOptions{
		Container:  container,
		Previous:   opts.Previous,
		TailLines:  opts.TailLines,
		LimitBytes: &limit,
	}
	if opts.Since != nil {
		secs := int64(math.Ceil(opts.Since.Seconds()))
		if secs < 1 {
			secs = 1
		}
		po.SinceSeconds = &secs
	}
	stream, err := c.Kube.CoreV1().Pods(namespace).GetLogs(pod, po).Stream(ctx)
	if err != nil {
		return "", false, fmt.Errorf("logs of %s/%s: %w", namespace, pod, err)
	}
	defer stream.Close()
	data, err := io.ReadAll(io.LimitReader(stream, limit))
	if err != nil {
		return string(data), false, fmt.Errorf("logs of %s/%s: %w", namespace, pod, err)
	}
	if len(data) > maxBytes {
		return string(data[:maxBytes]), true, nil
	}
	return string(data), false, nil
}
