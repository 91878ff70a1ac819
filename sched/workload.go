package sched

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/reckon-ml/reckon/yamlfile"
)

// workloadFile is a workload.yaml: a queues file and the teams' streams of
// submissions over a period.
type workloadFile struct {
	Queues  string        `yaml:"queues"`
	Period  time.Duration `yaml:"period"`
	Streams []Stream      `yaml:"streams"`
}

// DecodeWorkload reads a workload.yaml strictly:
//
//	queues: queues.yaml          # relative to this file
//	period: 720h                 # a simulated month
//	streams:                     # each team's submissions
//	  - {team: reentry, flavor: h100, gpus: 8, duration: 1h, every: 84h}
//	  - {team: tumor, flavor: h100, gpus: 56, duration: 30m, every: 12h, offset: 1h}
//
// dir is where a relative queues path is read from. Errors name file:line.
func DecodeWorkload(name string, r io.Reader, dir string) (Workload, *Queues, error) {
	var f workloadFile
	root, err := yamlfile.Decode(name, "workload", r, &f)
	if err != nil {
		return Workload{}, nil, err
	}
	at := func(path ...any) string { return fmt.Sprintf("%s:%d", name, yamlfile.Line(root, path...)) }
	if f.Queues == "" {
		return Workload{}, nil, fmt.Errorf("%s: queues: name the queues file the teams share (as for reckon queues -f)", at())
	}
	qpath := f.Queues
	if !filepath.IsAbs(qpath) {
		qpath = filepath.Join(dir, qpath)
	}
	q, err := LoadQueues(qpath)
	if err != nil {
		return Workload{}, nil, fmt.Errorf("%s: queues: %w", at("queues"), err)
	}
	if f.Period <= 0 {
		return Workload{}, nil, fmt.Errorf("%s: period: give the simulated time, e.g. 168h for a week, got %v", at("period"), f.Period)
	}
	if len(f.Streams) == 0 {
		return Workload{}, nil, fmt.Errorf("%s: streams: at least one team's submissions are needed", at())
	}
	capacity := q.Capacity()
	for i, st := range f.Streams {
		if !slices.ContainsFunc(q.Teams, func(t QueueTeam) bool { return t.Name == st.Team }) {
			return Workload{}, nil, fmt.Errorf("%s: streams[%d]: team %q has no queue in %s", at("streams", i), i, st.Team, qpath)
		}
		if st.Flavor == "" && len(q.Flavors) == 1 {
			f.Streams[i].Flavor, st.Flavor = q.Flavors[0], q.Flavors[0]
		}
		if !slices.Contains(q.Flavors, st.Flavor) {
			return Workload{}, nil, fmt.Errorf("%s: streams[%d]: flavor %q is not one of %v", at("streams", i), i, st.Flavor, q.Flavors)
		}
		switch {
		case st.GPUs < 1 || st.GPUs > capacity[st.Flavor].GPUs:
			return Workload{}, nil, fmt.Errorf("%s: streams[%d]: gpus must be in [1, %d] (the flavor's capacity), got %d", at("streams", i), i, capacity[st.Flavor].GPUs, st.GPUs)
		case st.Duration <= 0:
			return Workload{}, nil, fmt.Errorf("%s: streams[%d]: duration must be > 0", at("streams", i), i)
		case st.Every <= 0:
			return Workload{}, nil, fmt.Errorf("%s: streams[%d]: every must be > 0 (the time between submissions)", at("streams", i), i)
		case st.Offset < 0 || st.Count < 0:
			return Workload{}, nil, fmt.Errorf("%s: streams[%d]: offset and count must be >= 0", at("streams", i), i)
		}
	}
	return Workload{Teams: q.PolicyTeams(), Streams: f.Streams, Period: f.Period, HalfLife: q.HalfLife}, q, nil
}

// LoadWorkload reads a workload file.
func LoadWorkload(path string) (Workload, *Queues, error) {
	fh, err := os.Open(path)
	if err != nil {
		return Workload{}, nil, err
	}
	defer fh.Close()
	return DecodeWorkload(path, fh, filepath.Dir(path))
}
