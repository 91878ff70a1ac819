package sched

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Decision is what the policy chose in one round.
type Decision struct {
	// Admit are queued jobs to start now, in order.
	Admit []Admission
	// Preempt are running jobs to stop and requeue (borrowed capacity a
	// lender takes back), newest first.
	Preempt []string
	// Waiting says, for every queued job not admitted, why.
	Waiting map[string]Reason
}

// Admission is one admitted job.
type Admission struct {
	ID string
	// Borrowed: it takes its team beyond its nominal quota, so a lender
	// may preempt it (record it in Job.Borrowed).
	Borrowed bool
	// After are the preempted jobs whose capacity it takes: a scheduler
	// starts it once they have stopped (a simulation at once).
	After []string
}

// reservation is a flavor's: the first job of it that does not fit.
type reservation struct {
	job   string
	start time.Time // zero: never (no running job has an expected end)
	left  Resources // free at start beside the reserved job
}

// Reason is why a job waits, with the numbers; Text says it in words.
type Reason struct {
	Job, Team, Flavor string
	Position          int // among all waiting jobs, 1-based
	TeamPosition      int // among its team's waiting jobs, 1-based
	// Need is the job's request, Free what its flavor had free when the
	// policy reached it.
	Need, Free Resources
	// Borrowers are the teams using the flavor beyond their nominal quota.
	Borrowers []string
	// Reserved: the job holds its flavor's reservation and starts by
	// ExpectedStart (zero: no running job has an expected end).
	Reserved      bool
	ExpectedStart time.Time
	// Behind names the job holding the reservation when it is not this.
	Behind string
	// WouldDelay: it fits now but would delay the reserved job.
	WouldDelay bool
	// AtLimit: its team is at its borrowing limit for the flavor.
	AtLimit bool
	// NoQueue: its team has no queue.
	NoQueue bool
	// Guarded is capacity idle in the flavor that other teams' lending
	// limits keep for their own jobs.
	Guarded Resources
	// Reclaiming: it starts once these preempted jobs have stopped.
	Reclaiming []string
}

// Short names the resource missing and by how much ("" when none is).
func (r Reason) Short() string {
	if r.WouldDelay || r.AtLimit || r.NoQueue || len(r.Reclaiming) > 0 {
		return ""
	}
	return r.Free.Short(r.Need)
}

// Decide is the scheduling policy: a pure function of the snapshot and the
// clock. Queued jobs are taken in weighted fair-share order (the team with
// the least decayed usage plus current holding per weight goes next), then
// priority, then age. A job that fits is admitted. A team within its
// nominal quota gets it back by preempting other teams' borrowed jobs,
// newest first. The first job of a flavor that does not fit holds that
// flavor's reservation, from the running jobs' expected ends; later jobs
// of the flavor are admitted (backfilled) only if they do not delay it:
// they end before the reservation, or leave enough for it at that time.
func Decide(s Snapshot, now time.Time) Decision {
	d := Decision{Waiting: map[string]Reason{}}
	teams := map[string]Team{}
	capacity := map[string]Resources{}
	for _, t := range s.Teams {
		teams[t.Name] = t
		for f, r := range t.Nominal {
			capacity[f] = capacity[f].Add(r)
		}
	}
	type key struct{ team, flavor string }
	use := map[key]Resources{}
	free := map[string]Resources{}
	for f, c := range capacity {
		free[f] = c
	}
	held := map[string]float64{} // GPUs held per team, for the share
	var running []*Job
	var queued []*Job
	for i := range s.Jobs {
		j := &s.Jobs[i]
		switch j.State {
		case Running, Admitted:
			running = append(running, j)
			use[key{j.Team, j.Flavor}] = use[key{j.Team, j.Flavor}].Add(j.Request)
			free[j.Flavor] = free[j.Flavor].Sub(j.Request)
			held[j.Team] += float64(j.Request.GPUs)
		case Queued:
			queued = append(queued, j)
		}
	}
	// Each team's queue: priority, then age.
	perTeam := map[string][]*Job{}
	queuedTeams := map[string]bool{}
	for _, j := range queued {
		perTeam[j.Team] = append(perTeam[j.Team], j)
		queuedTeams[j.Team] = true
	}
	for _, q := range perTeam {
		slices.SortFunc(q, func(a, b *Job) int {
			if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
				return c
			}
			if c := a.Submitted.Compare(b.Submitted); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
	}
	// The global order interleaves the team queues by fair share: the
	// team with the least (decayed usage + holding + what this order has
	// given it) per weight goes next.
	names := make([]string, 0, len(perTeam))
	for n := range perTeam {
		names = append(names, n)
	}
	slices.Sort(names)
	shares := make([]float64, len(names))
	weights := make([]float64, len(names))
	heads := make([]int, len(names))
	for i, n := range names {
		weights[i] = 1
		if t, ok := teams[n]; ok {
			weights[i] = t.weight()
		}
		shares[i] = (s.Usage[n] + held[n]) / weights[i]
	}
	// A team whose next job fits now but only by borrowing goes after the
	// teams whose next job their nominal quota covers (Kueue's rule):
	// otherwise a preempted borrower, back in the queue and older, would
	// take the capacity just reclaimed from it and be preempted again,
	// round after round. A team's own jobs keep their order.
	borrowsNow := func(j *Job) bool {
		t, ok := teams[j.Team]
		return ok && free[j.Flavor].Fits(j.Request) && !t.Nominal[j.Flavor].Fits(use[key{j.Team, j.Flavor}].Add(j.Request))
	}
	order := make([]*Job, 0, len(queued))
	for len(order) < len(queued) {
		best, bestBorrows := -1, false
		for i, n := range names {
			if heads[i] >= len(perTeam[n]) {
				continue
			}
			h := perTeam[n][heads[i]]
			b := borrowsNow(h)
			if best < 0 || !b && bestBorrows || b == bestBorrows && before(shares[i], h, shares[best], perTeam[names[best]][heads[best]]) {
				best, bestBorrows = i, b
			}
		}
		j := perTeam[names[best]][heads[best]]
		heads[best]++
		shares[best] += math.Max(float64(j.Request.GPUs), 1e-3) / weights[best]
		order = append(order, j)
	}

	reserved := map[string]*reservation{}
	preempted := map[string]bool{}
	teamPos := map[string]int{}
	pos := 0
	// Who borrows a flavor, recomputed only after it changed.
	borrowers := map[string][]string{}
	stale := map[string]bool{}
	borrowing := func(flavor string) []string {
		if b, ok := borrowers[flavor]; ok && !stale[flavor] {
			return b
		}
		var b []string
		for _, t := range s.Teams {
			if u := use[key{t.Name, flavor}]; !t.Nominal[flavor].Fits(u) {
				b = append(b, t.Name+" ("+over(u, t.Nominal[flavor])+")")
			}
		}
		borrowers[flavor], stale[flavor] = b, false
		return b
	}
	withinLimit := func(j *Job) bool {
		t := teams[j.Team]
		lim, capped := t.Borrowing[j.Flavor]
		if !capped {
			return true
		}
		return t.Nominal[j.Flavor].Add(lim).Fits(use[key{j.Team, j.Flavor}].Add(j.Request))
	}
	// guarded is what other teams' lending limits keep back for them in a
	// flavor: the unused part of their nominal quota they do not lend.
	anyLending := false
	for _, t := range s.Teams {
		anyLending = anyLending || len(t.Lending) > 0
	}
	freeFor := func(team, flavor string) Resources {
		f := free[flavor]
		if !anyLending {
			return f
		}
		for _, t := range s.Teams {
			l, ok := t.Lending[flavor]
			if t.Name == team || !ok {
				continue
			}
			n, u := t.Nominal[flavor], use[key{t.Name, flavor}]
			f = f.Sub(Resources{CPU: math.Max(0, n.CPU-l.CPU-u.CPU), MemoryGB: math.Max(0, n.MemoryGB-l.MemoryGB-u.MemoryGB),
				GPUs: max(0, n.GPUs-min(l.GPUs, n.GPUs)-u.GPUs)})
		}
		return f
	}
	admit := func(j *Job) {
		k := key{j.Team, j.Flavor}
		use[k] = use[k].Add(j.Request)
		borrowed := !teams[j.Team].Nominal[j.Flavor].Fits(use[k])
		d.Admit = append(d.Admit, Admission{ID: j.ID, Borrowed: borrowed})
		free[j.Flavor] = free[j.Flavor].Sub(j.Request)
		stale[j.Flavor] = true
		a := *j
		a.Started, a.State, a.Borrowed = now, Admitted, borrowed
		running = append(running, &a)
	}
	for _, j := range order {
		if _, ok := teams[j.Team]; !ok {
			pos++
			teamPos[j.Team]++
			d.Waiting[j.ID] = Reason{Job: j.ID, Team: j.Team, Flavor: j.Flavor, Position: pos, TeamPosition: teamPos[j.Team], NoQueue: true}
			continue
		}
		res := reserved[j.Flavor]
		within := withinLimit(j)
		avail := freeFor(j.Team, j.Flavor)
		fits := avail.Fits(j.Request) && within
		if fits && (res == nil || doesNotDelay(j, now, res.start, res.left)) {
			if res != nil && !endsBefore(j, now, res.start) {
				res.left = res.left.Sub(j.Request)
			}
			admit(j)
			continue
		}
		// A team within its nominal quota takes it back from borrowers.
		if !fits && within && res == nil && teams[j.Team].Nominal[j.Flavor].Fits(use[key{j.Team, j.Flavor}].Add(j.Request)) {
			if victims := reclaim(running, preempted, j, avail); victims != nil {
				var after []string
				for _, v := range victims {
					preempted[v.ID] = true
					d.Preempt = append(d.Preempt, v.ID)
					use[key{v.Team, v.Flavor}] = use[key{v.Team, v.Flavor}].Sub(v.Request)
					free[v.Flavor] = free[v.Flavor].Add(v.Request)
					after = append(after, v.ID)
				}
				admit(j)
				d.Admit[len(d.Admit)-1].After = after
				continue
			}
		}
		pos++
		teamPos[j.Team]++
		r := Reason{Job: j.ID, Team: j.Team, Flavor: j.Flavor, Position: pos, TeamPosition: teamPos[j.Team],
			Need: j.Request, Free: avail, Borrowers: borrowing(j.Flavor), AtLimit: !within}
		if g := free[j.Flavor].Sub(avail); g != (Resources{}) {
			r.Guarded = g
		}
		switch {
		case !within:
			// Its own team's limit: it holds no reservation, so it
			// blocks nobody else.
		case res == nil:
			start, left := reserve(running, preempted, queuedTeams, free[j.Flavor], j, now)
			reserved[j.Flavor] = &reservation{job: j.ID, start: start, left: left}
			r.Reserved, r.ExpectedStart = true, start
		default:
			r.Behind, r.WouldDelay = res.job, fits
			r.ExpectedStart = res.start // not before the reservation ahead of it
		}
		d.Waiting[j.ID] = r
	}
	return d
}

// before orders two teams' next jobs: the lower share goes first; on a
// tie (within rounding), the higher priority, then the older job, so teams
// with no usage yet are served first come, first served.
func before(shareA float64, a *Job, shareB float64, b *Job) bool {
	if math.Abs(shareA-shareB) > 1e-9*math.Max(1, math.Abs(shareB)) {
		return shareA < shareB
	}
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if !a.Submitted.Equal(b.Submitted) {
		return a.Submitted.Before(b.Submitted)
	}
	return a.ID < b.ID
}

// over says by how much use exceeds a nominal quota, in the resource that
// does.
func over(use, nominal Resources) string {
	switch {
	case use.GPUs > nominal.GPUs:
		return fmt.Sprintf("%d GPUs over its nominal %d", use.GPUs-nominal.GPUs, nominal.GPUs)
	case use.CPU > nominal.CPU+1e-9:
		return fmt.Sprintf("%s over its nominal %.4g", CPUs(use.CPU-nominal.CPU), nominal.CPU)
	default:
		return fmt.Sprintf("%.4g GB over its nominal %.4g", use.MemoryGB-nominal.MemoryGB, nominal.MemoryGB)
	}
}

// endsBefore: j, started now, ends by t (known duration, known t).
func endsBefore(j *Job, now, t time.Time) bool {
	return j.Expected > 0 && !t.IsZero() && !now.Add(j.Expected).After(t)
}

// doesNotDelay: a backfilled job must end before the reservation starts,
// or leave enough for the reserved job when it does.
func doesNotDelay(j *Job, now, start time.Time, left Resources) bool {
	return endsBefore(j, now, start) || left.Fits(j.Request)
}

// reserve finds when j would fit as running jobs of its flavor end at their
// expected times, and what is left then beside it.
//
// Capacity another team's job frees counts only if that team has nothing
// queued or the job was borrowed: a team with jobs waiting takes its own
// nominal quota back as its jobs end, so promising it to j would be a
// promise the next rounds break.
func reserve(running []*Job, preempted map[string]bool, queuedTeams map[string]bool, free Resources, j *Job, now time.Time) (time.Time, Resources) {
	type end struct {
		at  time.Time
		req Resources
	}
	var ends []end
	for _, r := range running {
		if r.Flavor != j.Flavor || preempted[r.ID] || r.Expected <= 0 {
			continue
		}
		if r.Team != j.Team && !r.Borrowed && queuedTeams[r.Team] {
			continue
		}
		at := r.Started.Add(r.Expected)
		if at.Before(now) {
			at = now
		}
		ends = append(ends, end{at, r.Request})
	}
	slices.SortFunc(ends, func(a, b end) int { return a.at.Compare(b.at) })
	for _, e := range ends {
		free = free.Add(e.req)
		if free.Fits(j.Request) {
			return e.at, free.Sub(j.Request)
		}
	}
	return time.Time{}, Resources{}
}

// reclaim picks borrowed jobs of other teams in j's flavor, newest first,
// until j fits; nil when even all of them would not make room.
func reclaim(running []*Job, preempted map[string]bool, j *Job, free Resources) []*Job {
	var cands []*Job
	for _, r := range running {
		// A job holding nothing (waiting for its children) frees nothing.
		if r.Flavor == j.Flavor && r.Team != j.Team && r.Borrowed && !preempted[r.ID] && r.Request != (Resources{}) {
			cands = append(cands, r)
		}
	}
	// Jobs already stopping come first (their capacity is on its way),
	// then the newest borrowed.
	slices.SortFunc(cands, func(a, b *Job) int {
		if a.Stopping != b.Stopping {
			if a.Stopping {
				return -1
			}
			return 1
		}
		return b.Started.Compare(a.Started)
	})
	var out []*Job
	for _, c := range cands {
		if free.Fits(j.Request) {
			break
		}
		out = append(out, c)
		free = free.Add(c.Request)
	}
	if !free.Fits(j.Request) {
		return nil
	}
	return out
}

// Text is the reason in one or two sentences (reckon jobs why).
func (r Reason) Text() string {
	if r.NoQueue {
		return fmt.Sprintf("%s waits: team %q has no queue (see reckon queues).", r.Job, r.Team)
	}
	if len(r.Reclaiming) > 0 {
		return fmt.Sprintf("%s takes back team %s's nominal quota of %s: it starts as soon as %s, preempted for it, have stopped (SIGTERM, then SIGKILL after the grace period).",
			r.Job, r.Team, r.Flavor, strings.Join(r.Reclaiming, ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s is %s in the queue (%s in team %s's)", r.Job, ordinal(r.Position), ordinal(r.TeamPosition), r.Team)
	switch {
	case r.AtLimit:
		fmt.Fprintf(&b, "; team %s is at its borrowing limit for %s", r.Team, r.Flavor)
	case r.Reserved:
		fmt.Fprintf(&b, "; %s short by %s", r.Flavor, r.Short())
	case r.WouldDelay:
		fmt.Fprintf(&b, "; it would fit, but would delay %s, which holds the %s reservation", r.Behind, r.Flavor)
	default:
		fmt.Fprintf(&b, "; %s short by %s, behind %s, which holds the reservation", r.Flavor, r.Short(), r.Behind)
	}
	if len(r.Borrowers) > 0 {
		fmt.Fprintf(&b, "; borrowing %s: %s", r.Flavor, strings.Join(r.Borrowers, ", "))
	}
	if r.Guarded != (Resources{}) {
		fmt.Fprintf(&b, "; %s more is idle but kept by other teams' lending limits", r.Guarded.Amount())
	}
	if !r.ExpectedStart.IsZero() {
		fmt.Fprintf(&b, ". Expected to start by %s", r.ExpectedStart.UTC().Format(time.DateTime))
	} else {
		b.WriteString(". No running job has an expected end, so no start time can be promised")
	}
	switch {
	case r.Reserved:
		b.WriteString("; it starts sooner if running jobs finish early or it asks for less")
	case r.WouldDelay:
		b.WriteString("; an expected duration ending before the reservation would let it backfill")
	}
	return b.String() + "."
}

func ordinal(n int) string {
	suf := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suf = "st"
	case n%10 == 2:
		suf = "nd"
	case n%10 == 3:
		suf = "rd"
	}
	return fmt.Sprintf("%d%s", n, suf)
}
