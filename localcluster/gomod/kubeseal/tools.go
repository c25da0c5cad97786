//go:build tools

// Package tools pins the kubeseal command this module builds.
package tools

import _ "github.com/bitnami/sealed-secrets/cmd/kubeseal"
