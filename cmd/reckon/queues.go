package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/sched"
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
(absent: any unused capacity) and a fair-sharing weight. The cohort's
capacity is the sum of the nominal quotas. See sched/testdata/queues.yaml.

Usage per team appears here once jobs are tracked by the scheduler (not yet
in this release).`,
		Example: `  reckon queues
  reckon queues -f sched/testdata/queues.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := sched.DefaultQueues()
			if file != "" {
				var err error
				if q, err = sched.LoadQueues(file); err != nil {
					return err
				}
			}
			return a.report(q, func(w io.Writer) {
				src := "default (no queues file)"
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
				fmt.Fprintln(tw, "team\tweight\tflavor\tnominal gpus\tnominal cpu\tnominal GB\tborrowing limit")
				for _, t := range q.Teams {
					weight := t.Weight
					if weight == 0 {
						weight = 1
					}
					for _, f := range slices.Sorted(maps.Keys(t.Nominal)) {
						n := t.Nominal[f]
						lim := "any unused"
						if b, ok := t.Borrowing[f]; ok {
							lim = limit(b)
						}
						fmt.Fprintf(tw, "%s\t%g\t%s\t%d\t%.4g\t%.4g\t%s\n", t.Name, weight, f, n.GPUs, n.CPU, n.MemoryGB, lim)
					}
				}
				tw.Flush()
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
	c.Flags().StringVarP(&file, "file", "f", "", "queues file (YAML); default: one queue for this machine")
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
