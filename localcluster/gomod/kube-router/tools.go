//go:build tools

// Package tools pins the NetworkPolicy enforcer of the real node: kube-router's firewall
// (iptables + ipset; this kernel has no nftables queue, so NFQUEUE-based enforcers cannot run).
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
