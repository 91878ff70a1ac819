package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/spf13/cobra"
)

func (a *app) queuesCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "queues [-f queues.yaml]",
		Short: "Show the teams' queues: quota per flavor, borrowing limits, weights, the cohort's capacity",
		Long: `Show the queues the scheduler shares capacity by, read from a queues.yaml
(strict: unknown keys, unknown flavors, duplicate teams are errors with
file:line), or without one the default: a single queue "default" spanning
this machine's cores (and its GPUs, if any).

queues.yaml declares the resource flavors, the usage half-life of fair share
(default 168h), priority classes, and per team a nominal quota per flavor
(guaranteed; lent to the cohort while unused), a borrowing limit per flavor
(absent: any unused capacity), a lending limit per flavor (absent: all of
its unused quota is lent) and a fair-sharing weight. The cohort's
capacity is the sum of the nominal quotas. See sched/testdata/queues.yaml.

With jobs in the store it shows, per team, what its admitted and running
jobs use, how much of it is borrowed beyond the nominal quota, its queued
and running jobs, and its fair-share usage: GPU-hours decayed with the
half-life, the number the scheduler orders teams by (lowest per weight
first).

Without -f: HOME/queues.yaml if it exists, else the default.`,
		Example: `  reckon queues
  reckon queues -f sched/testdata/queues.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := a.jobService(cmd.Context(), file)
			if err != nil {
				return err
			}
			defer done()
			v, err := svc.Usage(cmd.Context())
			if err != nil {
				return err
			}
			q, usage := v.Queues, v.Usage
			return a.report(v, func(w io.Writer) {
				src := "default (no queues file: this machine, shared equally by the teams with jobs)"
				if q.File != "" {
					src = q.File
				}
				fmt.Fprintf(w, "queues: %s; fair-share half-life %s\n", src, q.HalfLife)
				capacity := q.Capacity()
				for _, f := range q.Flavors {
					c := capacity[f]
					fmt.Fprintf(w, "flavor %s: cohort capacity %d GPUs, %.4g CPUs, %.4g GB\n", f, c.GPUs, c.CPU, c.MemoryGB)
				}
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "team\tweight\tflavor\tnominal\tborrowing limit\tlending limit\tusing\tborrowed")
				for _, t := range q.Teams {
					weight := t.Weight
					if weight == 0 {
						weight = 1
					}
					var u scheduler.TeamUsage
					for _, x := range usage {
						if x.Team == t.Name {
							u = x
						}
					}
					for _, f := range slices.Sorted(maps.Keys(t.Nominal)) {
						lim := "any unused"
						if b, ok := t.Borrowing[f]; ok {
							lim = limit(b)
						}
						lend := "all unused"
						if l, ok := t.Lending[f]; ok {
							lend = strings.TrimSuffix(limit(l), " beyond nominal")
						}
						fmt.Fprintf(tw, "%s\t%g\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, weight, f, t.Nominal[f].Amount(), lim, lend, u.Using[f].Amount(), u.Borrowing[f].Amount())
					}
				}
				tw.Flush()
				if len(usage) > 0 {
					fmt.Fprintln(w, "jobs and fair-share usage (GPU-hours, decayed):")
					tw = newTabWriter(w)
					fmt.Fprintln(tw, "team\tqueued\trunning\tusage")
					for _, u := range usage {
						fmt.Fprintf(tw, "%s\t%d\t%d\t%.4g\n", u.Team, u.Queued, u.Running, u.GPUHours)
					}
					tw.Flush()
				}
				if len(q.PriorityClasses) > 0 {
					fmt.Fprint(w, "priority classes:")
					for _, c := range slices.Sorted(maps.Keys(q.PriorityClasses)) {
						fmt.Fprintf(w, " %s=%d", c, q.PriorityClasses[c])
					}
					fmt.Fprintln(w)
				}
			})
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "queues file (YAML); default HOME/queues.yaml if it exists, else one queue for this machine")
	c.AddCommand(a.queuesExportCmd())
	return c
}

func (a *app) queuesExportCmd() *cobra.Command {
	var file, namespace, cohort string
	var kueue bool
	c := &cobra.Command{
		Use:   "export --kueue [-f queues.yaml]",
		Short: "Write the queues as Kueue objects (ResourceFlavor, ClusterQueue, LocalQueue) for kubectl apply",
		Long: `Write queues.yaml as Kueue objects, for a cluster that runs Kueue: a
ResourceFlavor per flavor, a ClusterQueue per team in one cohort (nominal
quota, borrowing and lending limits per resource and flavor, fair-sharing
weight, reclaim within the cohort) and a LocalQueue per team in --namespace,
named after the team. GPUs are nvidia.com/gpu.`,
		Example: `  reckon queues export --kueue -f sched/testdata/queues.yaml > kueue.yaml
  kubectl apply -f kueue.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !kueue {
				return errors.New("--kueue: the only export format so far")
			}
			q, err := a.loadQueues(file)
			if err != nil {
				return err
			}
			b, err := kube.Kueue(q, nil, namespace, cohort)
			if err != nil {
				return err
			}
			_, err = a.out.Write(b)
			return err
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "queues file (default HOME/queues.yaml if it exists, else one queue for this machine)")
	c.Flags().BoolVar(&kueue, "kueue", false, "write Kueue objects")
	c.Flags().StringVar(&namespace, "namespace", "reckon", "namespace of the LocalQueues (where the Jobs run)")
	c.Flags().StringVar(&cohort, "cohort", "reckon", "cohort of the ClusterQueues (and their names' prefix)")
	return c
}

// limit writes a borrowing limit, leaving out what it does not limit.
func limit(b sched.Resources) string {
	var parts []string
	if b.GPUs < math.MaxInt32 {
		parts = append(parts, fmt.Sprintf("%d GPUs", b.GPUs))
	}
	if !math.IsInf(b.CPU, 1) {
		parts = append(parts, fmt.Sprintf("%.4g CPUs", b.CPU))
	}
	if !math.IsInf(b.MemoryGB, 1) {
		parts = append(parts, fmt.Sprintf("%.4g GB", b.MemoryGB))
	}
	if len(parts) == 0 {
		return "any unused"
	}
	return strings.Join(parts, ", ") + " beyond nominal"
}
