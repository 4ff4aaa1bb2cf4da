// Package infra holds the deployment assets around template.yaml: webhook
// kubeconfig templates for kube-apiserver, example configurations and the
// kube-apiserver flag guide. It has no runtime code; its tests check
// template.yaml against the Go code it deploys (build paths, environment
// variables, references) and validate every example configuration.
package infra
