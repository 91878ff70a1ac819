package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/chart"
	"github.com/reckon-ml/reckon/plan"
	"github.com/reckon-ml/reckon/sched"
	"github.com/spf13/cobra"
)

// planOptions are plan's flags.
type planOptions struct {
	teams, runs int
	cpuHours    float64
	scenario    plan.Scenario
	gantt       string
	nodes       int
	file        string
	simulate    bool
	workload    sched.Workload
}

func (a *app) planCmd() *cobra.Command { return a.newPlanCmd(a.runPlan) }

func (a *app) newPlanCmd(runF func(context.Context, *planOptions) error) *cobra.Command {
	o := &planOptions{}
	c := &cobra.Command{
		Use:   "plan (--teams N --runs-per-week R --cpu-hours H --gpu-speedup S --gpus-per-vm G --max-vms V | -f scenario.yaml | --simulate -f workload.yaml)",
		Short: "Plan a pool of GPU VMs for the teams' training runs: smallest makespan, Gantt chart",
		Long: `Find the schedule of a period's training runs (every team's runs, all ready at
the start) on a pool of GPU VMs with the smallest makespan, and measure it
against a lower bound no schedule can beat.

A run of H CPU-hours takes H/S hours on one GPU; on g GPUs it keeps E of
perfect scaling per doubling (--scaling-efficiency, 1 = perfect), so
H / (S * g * E^log2 g) hours. A run takes whole VMs, 1 to --max-vms-per-run,
for its whole length. Every order of the runs and every VM count per run is
searched (branch and bound over list schedules: each run goes on the VMs
that free up first); "optimal" says the search finished.

Prints the makespan, the lower bound (the least VM-hours of all runs over
the pool, or the longest run at its fastest), VM-hours, each run's VMs,
start and end, each team's first start and last end, and writes a Gantt
chart as PNG and SVG.

-f scenario.yaml gives teams that differ (runs and CPU-hours per team) and
the pool; flags for the pool override it.

--simulate -f workload.yaml drives the scheduler's own policy (the function
reckon scheduler calls each round) through a simulated week or month of
submissions from a queues file, as discrete events, and reports GPU
utilisation, each team's GPU-hours, jobs finished, mean and p95 wait and
preemptions, and Jain's fairness index of GPU-hours per weight.`,
		Example: `  reckon plan --teams 4 --runs-per-week 2 --cpu-hours 100 --gpu-speedup 6 --gpus-per-vm 8 --max-vms 7
  reckon plan --teams 4 --runs-per-week 2 --cpu-hours 100 --gpu-speedup 6 --gpus-per-vm 8 --max-vms 7 \
      --scaling-efficiency 0.9 --max-vms-per-run 4 --json
  reckon plan -f plan/testdata/scenario.yaml
  reckon plan --simulate -f sched/testdata/workload.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.simulate {
				if o.file == "" {
					return fmt.Errorf("--simulate: give the workload with -f workload.yaml (see sched/testdata/workload.yaml)")
				}
				for _, f := range []string{"teams", "runs-per-week", "cpu-hours", "gpu-speedup", "gpus-per-vm", "max-vms", "scaling-efficiency", "max-vms-per-run"} {
					if cmd.Flags().Changed(f) {
						return fmt.Errorf("--%s: a simulation takes its teams and pool from the workload's queues file, not from flags", f)
					}
				}
				w, _, err := sched.LoadWorkload(o.file)
				if err != nil {
					return err
				}
				o.workload = w
				return runF(cmd.Context(), o)
			}
			if o.file != "" {
				for _, f := range []string{"teams", "runs-per-week", "cpu-hours"} {
					if cmd.Flags().Changed(f) {
						return fmt.Errorf("--%s: the teams come from %s; the pool's flags (--max-vms, ...) may override it", f, o.file)
					}
				}
				sc, err := plan.LoadScenario(o.file)
				if err != nil {
					return err
				}
				fl := cmd.Flags()
				if !fl.Changed("gpu-speedup") {
					o.scenario.GPUSpeedup = sc.GPUSpeedup
				}
				if !fl.Changed("gpus-per-vm") {
					o.scenario.GPUsPerVM = sc.GPUsPerVM
				}
				if !fl.Changed("max-vms") {
					o.scenario.MaxVMs = sc.MaxVMs
				}
				if !fl.Changed("scaling-efficiency") {
					o.scenario.Efficiency = sc.Efficiency
				}
				if !fl.Changed("max-vms-per-run") {
					o.scenario.MaxVMsPerRun = sc.MaxVMsPerRun
				}
				o.scenario.Teams = sc.Teams
			} else {
				if o.teams < 1 || o.runs < 1 {
					return fmt.Errorf("--teams and --runs-per-week must be >= 1, got %d and %d", o.teams, o.runs)
				}
				o.scenario.Teams = plan.Uniform(o.teams, o.runs, o.cpuHours)
			}
			if err := o.scenario.Validate(); err != nil {
				return err
			}
			if g := filepath.Ext(o.gantt); o.gantt != "" && o.gantt != "-" && g != ".png" {
				return fmt.Errorf("--gantt %s: give a .png path (the .svg is written beside it), or - for none", o.gantt)
			}
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.IntVar(&o.teams, "teams", 4, "teams, each with the same runs")
	f.IntVar(&o.runs, "runs-per-week", 2, "runs per team in the period planned")
	f.Float64Var(&o.cpuHours, "cpu-hours", 100, "one run's length on one CPU, hours")
	f.Float64Var(&o.scenario.GPUSpeedup, "gpu-speedup", 6, "how much faster one GPU is than one CPU")
	f.IntVar(&o.scenario.GPUsPerVM, "gpus-per-vm", 8, "GPUs in one VM")
	f.IntVar(&o.scenario.MaxVMs, "max-vms", 7, "VMs that may run at once")
	f.Float64Var(&o.scenario.Efficiency, "scaling-efficiency", 1, "share of perfect scaling kept per doubling of GPUs, in (0, 1]")
	f.IntVar(&o.scenario.MaxVMsPerRun, "max-vms-per-run", 0, "most VMs one run may span (0: --max-vms)")
	f.StringVar(&o.gantt, "gantt", "", "Gantt chart PNG, with an SVG beside it (default HOME/reports/plan.png; - for none)")
	f.StringVarP(&o.file, "file", "f", "", "scenario.yaml for teams that differ (see plan/testdata/scenario.yaml); with --simulate, a workload.yaml")
	f.BoolVar(&o.simulate, "simulate", false, "drive the real scheduling policy through the workload of -f (discrete events) and report utilisation, waits and fairness")
	f.IntVar(&o.nodes, "search-nodes", plan.DefaultNodes, "search budget; past it the best schedule found is printed, marked not proven optimal")
	return c
}

func (a *app) runPlan(_ context.Context, o *planOptions) error {
	if o.simulate {
		return a.runSimulate(o)
	}
	p, err := plan.Solve(o.scenario, o.nodes)
	if err != nil {
		return err
	}
	gantt := o.gantt
	if gantt == "" {
		gantt = a.homePath("reports", "plan.png")
	}
	var figures []string
	if gantt != "-" {
		var bars []chart.Bar
		for _, r := range p.Runs {
			for _, vm := range r.VMIDs {
				bars = append(bars, chart.Bar{Row: vm, Start: r.StartH, End: r.EndH, Series: r.Team})
			}
		}
		title := fmt.Sprintf("makespan %.2f h (lower bound %.2f h)", p.MakespanH, p.LowerBoundH)
		for _, path := range []string{gantt, strings.TrimSuffix(gantt, ".png") + ".svg"} {
			if err := chart.Gantt(path, title, "hours", "VM", bars); err != nil {
				return err
			}
			figures = append(figures, path)
		}
	}
	res := struct {
		*plan.Plan
		Scenario plan.Scenario `json:"scenario"`
		Figures  []string      `json:"figures,omitempty"`
	}{p, o.scenario, figures}
	return a.report(res, func(w io.Writer) {
		proven := "optimal among list schedules"
		if !p.Optimal {
			proven = fmt.Sprintf("best found in %d search nodes, not proven optimal", p.Nodes)
		}
		fmt.Fprintf(w, "makespan %.3f h, lower bound %.3f h (%.1f%% above), %.2f VM-hours; %s\n",
			p.MakespanH, p.LowerBoundH, 100*(p.MakespanH/p.LowerBoundH-1), p.VMHours, proven)
		tw := newTabWriter(w)
		fmt.Fprintln(tw, "team\trun\tvms\tstart_h\tend_h\tvm ids")
		for _, r := range p.Runs {
			ids := make([]string, len(r.VMIDs))
			for i, id := range r.VMIDs {
				ids[i] = fmt.Sprint(id)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%s\n", r.Team, r.Run, r.VMs, r.StartH, r.EndH, strings.Join(ids, ","))
		}
		tw.Flush()
		tw = newTabWriter(w)
		fmt.Fprintln(tw, "team\tfirst start h\tlast end h")
		for _, t := range p.Teams {
			fmt.Fprintf(tw, "%s\t%.3f\t%.3f\n", t.Team, t.FirstStart, t.LastEnd)
		}
		tw.Flush()
		for _, f := range figures {
			fmt.Fprintf(w, "  figure: %s\n", f)
		}
	})
}

func (a *app) runSimulate(o *planOptions) error {
	res, err := sched.Simulate(o.workload)
	if err != nil {
		return err
	}
	return a.report(res, func(w io.Writer) {
		fmt.Fprintf(w, "simulated %s of %s: GPU utilisation %.1f%%, Jain's fairness index %.3f (GPU-hours per weight), %d scheduling rounds\n",
			o.workload.Period, o.file, 100*res.Utilisation, res.Jain, res.Rounds)
		tw := newTabWriter(w)
		fmt.Fprintln(tw, "team\tGPU-hours\tjobs finished\tmean wait\tp95 wait\tpreempted")
		for _, t := range res.Teams {
			fmt.Fprintf(tw, "%s\t%.1f\t%d\t%s\t%s\t%d\n", t.Team, t.GPUHours, t.Jobs, t.MeanWait.Round(time.Second), t.P95Wait.Round(time.Second), t.Preempted)
		}
		tw.Flush()
		waited := false
		for _, t := range res.Teams {
			waited = waited || t.P95Wait > 0
		}
		if !waited {
			fmt.Fprintln(w, "no job waited: demand stayed within capacity, so the fairness index reflects what the teams asked for, not the policy")
		}
	})
}
