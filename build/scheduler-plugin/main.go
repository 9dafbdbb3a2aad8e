// colo-kube-scheduler: kube-scheduler with colo's ColoCoordinator plugin registered, so a
// profile can enable it (see docs/go-reserve-plugin.md). Everything else is upstream's
// cmd/kube-scheduler at the version pinned in build/cluster/versions.env.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register" // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version" // for version metric registration
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"colo/build/scheduler-plugin/colocoordinator"
)

func main() {
	command := app.NewSchedulerCommand(app.WithPlugin(colocoordinator.Name, colocoordinator.New))
	os.Exit(cli.Run(command))
}
