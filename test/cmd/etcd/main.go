// Command etcd is etcd's own server main, built from this module's pinned
// go.etcd.io/etcd/server/v3 so the end-to-end test needs no downloaded binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
