//go:build tools

// Package tools pins the commands the end-to-end test builds from source:
// kube-apiserver from k8s.io/kubernetes and etcd (see cmd/etcd).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
