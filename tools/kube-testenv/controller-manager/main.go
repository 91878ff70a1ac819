// Command kube-controller-manager is the real controller manager (its Job
// controller creates pods, retries failed indexes and completes Jobs),
// built like apiserver for reckon's tests.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() { os.Exit(cli.Run(app.NewControllerManagerCommand())) }
