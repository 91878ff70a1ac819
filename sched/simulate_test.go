package sched

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestCalibrationSimulatedMonthIsFair: 4 teams of equal weight and 14 nominal GPUs
// each (7 VMs of 8), every team submitting more than its share (an 8-GPU,
// 2-hour job every hour; t1 one every 15 minutes, four times the others,
// which first-come-first-served would reward): over a simulated month each
// team's GPU-hours are within 5% of an equal share and Jain's index is at
// least 0.95.
func TestCalibrationSimulatedMonthIsFair(t *testing.T) {
	period := 30 * 24 * time.Hour
	if testing.Short() {
		period = 7 * 24 * time.Hour
	}
	teams := pool(4, 14)
	w := Workload{Teams: teams, Period: period, Start: t0}
	for i, tm := range teams {
		every := time.Hour
		if i == 0 {
			every = 15 * time.Minute
		}
		w.Streams = append(w.Streams, Stream{Team: tm.Name, Flavor: "h100", GPUs: 8, Duration: 2 * time.Hour, Every: every, Offset: time.Duration(i) * time.Minute})
	}
	res, err := Simulate(w)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, st := range res.Teams {
		total += st.GPUHours
	}
	for _, st := range res.Teams {
		if share := st.GPUHours / (total / 4); math.Abs(share-1) > 0.05 {
			t.Errorf("%s: %.0f GPU-hours, %.1f%% of an equal share", st.Team, st.GPUHours, 100*share)
		}
	}
	if res.Jain < 0.95 || res.Utilisation < 0.8 {
		t.Errorf("Jain %.4f, utilisation %.3f", res.Jain, res.Utilisation)
	}
	t.Logf("%d rounds, utilisation %.3f, Jain %.5f, teams %+v", res.Rounds, res.Utilisation, res.Jain, res.Teams)
}

// TestReturningTeamGetsItsQuota: three teams keep the pool busy, borrowing
// the fourth's quota; when the fourth submits within its nominal quota,
// its job starts in that same round.
func TestReturningTeamGetsItsQuota(t *testing.T) {
	teams := pool(4, 8)
	w := Workload{Teams: teams, Period: 3 * 24 * time.Hour, Start: t0}
	for _, tm := range teams[:3] {
		w.Streams = append(w.Streams, Stream{Team: tm.Name, Flavor: "h100", GPUs: 4, Duration: 3 * time.Hour, Every: 30 * time.Minute})
	}
	w.Streams = append(w.Streams, Stream{Team: "t4", Flavor: "h100", GPUs: 8, Duration: time.Hour, Every: time.Hour, Offset: 36 * time.Hour, Count: 1})
	var wait time.Duration = -1
	w.Waits = func(job string, d time.Duration) {
		if strings.HasPrefix(job, "t4-") {
			wait = d
		}
	}
	res, err := Simulate(w)
	if err != nil {
		t.Fatal(err)
	}
	if wait != 0 {
		t.Errorf("t4's job waited %v, want 0 (its nominal quota back in one round)", wait)
	}
	pre := 0
	for _, st := range res.Teams {
		pre += st.Preempted
	}
	if pre == 0 {
		t.Error("nobody was preempted to make room")
	}
}
