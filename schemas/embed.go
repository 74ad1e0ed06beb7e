// Package schemas holds the generated JSON Schemas of the runbook format
// and of run results (make schema writes them; CI fails when they are stale).
package schemas

import _ "embed"

// Runbook is the JSON Schema of runbook files.
//
//go:embed runbook.schema.json
var Runbook []byte
