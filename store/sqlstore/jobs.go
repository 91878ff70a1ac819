package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/sched"
)

var _ sched.Store = (*DB)(nil)

// errSeqTaken: a concurrent submitter took the sequence number first.
var errSeqTaken = errors.New("job sequence number taken")

// SubmitJob numbers jobs j1, j2, ... in submission order: short ids users
// can type (reckon jobs why j12). Two submitters that read the same
// highest number collide on the unique id and sequence; the loser reads
// again.
func (s *DB) SubmitJob(ctx context.Context, sp sched.Spec) (sched.Record, error) {
	if err := sched.ValidName("team", sp.Team); err != nil {
		return sched.Record{}, err
	}
	if sp.Kind == "" {
		sp.Kind = sched.KindCommand
	}
	args, err := json.Marshal(sp.Args)
	if err != nil {
		return sched.Record{}, err
	}
	for range 100 {
		now := s.now()
		var r sched.Record
		err := s.tx(ctx, func(t tx) error {
			var seq int64
			if err := t.row(`SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs`).Scan(&seq); err != nil {
				return err
			}
			r = sched.Record{Spec: sp, ID: "j" + strconv.FormatInt(seq, 10), State: sched.Queued, Submitted: now}
			res, err := t.exec(`INSERT INTO jobs (id, seq, team, user_name, name, kind, args, workdir, flavor, cpu, memory_gb, gpus, priority, shards, max_attempts, expected_ns, parent, state, submitted_ns)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				r.ID, seq, sp.Team, sp.User, sp.Name, string(sp.Kind), string(args), sp.Dir, sp.Flavor, sp.Request.CPU, sp.Request.MemoryGB, sp.Request.GPUs,
				sp.Priority, sp.Shards, sp.MaxAttempts, int64(sp.Expected), sp.Parent, string(sched.Queued), now.UnixNano())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errSeqTaken
			}
			return nil
		})
		if errors.Is(err, errSeqTaken) {
			continue
		}
		if err != nil {
			return sched.Record{}, fmt.Errorf("submit job: %w", err)
		}
		return r, nil
	}
	return sched.Record{}, fmt.Errorf("submit job: %w 100 times", errSeqTaken)
}

const jobCols = `id, team, user_name, name, kind, args, workdir, flavor, cpu, memory_gb, gpus, priority, shards, max_attempts, expected_ns, parent,
	state, submitted_ns, admitted_ns, ended_ns, borrowed, attempt, failures, devices, cancel, preempt, waiting, exit_code, message`

func scanJob(sc interface{ Scan(...any) error }) (sched.Record, error) {
	var r sched.Record
	var kind, args, state string
	var expected, submitted, admitted, ended, borrowed, cancel, preempt, waiting int64
	err := sc.Scan(&r.ID, &r.Team, &r.User, &r.Name, &kind, &args, &r.Dir, &r.Flavor, &r.Request.CPU, &r.Request.MemoryGB, &r.Request.GPUs,
		&r.Priority, &r.Shards, &r.MaxAttempts, &expected, &r.Parent,
		&state, &submitted, &admitted, &ended, &borrowed, &r.Attempt, &r.Failures, &r.Devices, &cancel, &preempt, &waiting, &r.ExitCode, &r.Message)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(args), &r.Args); err != nil {
		return r, fmt.Errorf("job %s: args: %w", r.ID, err)
	}
	r.Kind, r.State, r.Expected = sched.Kind(kind), sched.State(state), time.Duration(expected)
	r.Submitted = time.Unix(0, submitted)
	if admitted != 0 {
		r.Admitted = time.Unix(0, admitted)
	}
	if ended != 0 {
		r.Ended = time.Unix(0, ended)
	}
	r.Borrowed, r.CancelRequested, r.Preempting, r.Waiting = borrowed != 0, cancel != 0, preempt != 0, waiting != 0
	return r, nil
}

func getJob(ctx context.Context, s *DB, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (sched.Record, error) {
	r, err := scanJob(q.QueryRowContext(ctx, s.q(`SELECT `+jobCols+` FROM jobs WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("job %s: %w", id, sched.ErrJobNotFound)
	}
	return r, err
}

func (s *DB) GetJob(ctx context.Context, id string) (sched.Record, error) {
	r, err := getJob(ctx, s, s.r, id)
	if err != nil {
		return r, err
	}
	r.Runs, err = s.jobRuns(ctx, id)
	return r, err
}

func (s *DB) jobRuns(ctx context.Context, id string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT run_id FROM job_runs WHERE job_id = ? ORDER BY run_id`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *DB) ListJobs(ctx context.Context, q sched.JobQuery) ([]sched.Record, error) {
	var where []string
	var args []any
	if q.Team != "" {
		where, args = append(where, "team = ?"), append(args, q.Team)
	}
	if q.Parent != "" {
		where, args = append(where, "parent = ?"), append(args, q.Parent)
	}
	if len(q.States) > 0 {
		where = append(where, "state IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.States)), ", ")+")")
		for _, st := range q.States {
			args = append(args, string(st))
		}
	}
	query := `SELECT ` + jobCols + ` FROM jobs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	if q.Limit > 0 {
		// The newest Limit jobs, turned oldest first below.
		query += " ORDER BY seq DESC LIMIT " + strconv.Itoa(q.Limit)
	} else {
		query += " ORDER BY seq"
	}
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sched.Record
	for rows.Next() {
		r, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if q.Limit > 0 {
		slices.Reverse(out)
	}
	return out, rows.Err()
}

// jobState reads a job's state, attempt and cancel flag in t.
func jobState(t tx, id string) (sched.State, int, bool, error) {
	var st string
	var attempt, cancel int64
	err := t.row(`SELECT state, attempt, cancel FROM jobs WHERE id = ?`, id).Scan(&st, &attempt, &cancel)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, fmt.Errorf("job %s: %w", id, sched.ErrJobNotFound)
	}
	return sched.State(st), int(attempt), cancel != 0, err
}

func (s *DB) AdmitJob(ctx context.Context, id string, borrowed bool, devices string) (sched.Record, error) {
	now := s.now()
	err := s.tx(ctx, func(t tx) error {
		st, attempt, cancel, err := jobState(t, id)
		if err != nil {
			return err
		}
		if st != sched.Queued || cancel {
			return fmt.Errorf("job %s is %s: %w", id, st, sched.ErrConflict)
		}
		res, err := t.exec(`UPDATE jobs SET state = ?, admitted_ns = ?, borrowed = ?, attempt = ?, devices = ?, message = '' WHERE id = ? AND state = ? AND attempt = ?`,
			string(sched.Admitted), now.UnixNano(), b2i(borrowed), attempt+1, devices, id, string(sched.Queued), attempt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("job %s: %w", id, sched.ErrConflict)
		}
		_, err = t.exec(`INSERT INTO job_attempts (job_id, n, team, flavor, gpus, cpu, devices, started_ns)
			SELECT id, attempt, team, flavor, gpus, cpu, devices, admitted_ns FROM jobs WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return sched.Record{}, err
	}
	return s.GetJob(ctx, id)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cas runs an update guarded by the state and attempt the caller saw: no
// row changed is ErrJobNotFound for an unknown job, else ErrConflict
// saying what the attempt is not.
func cas(t tx, id string, attempt int, not string, query string, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, _, _, err := jobState(t, id); err != nil {
			return err
		}
		return fmt.Errorf("job %s attempt %d is not %s: %w", id, attempt, not, sched.ErrConflict)
	}
	return nil
}

func (s *DB) StartJob(ctx context.Context, id string, attempt int) error {
	return s.tx(ctx, func(t tx) error {
		return cas(t, id, attempt, "admitted", `UPDATE jobs SET state = ? WHERE id = ? AND state = ? AND attempt = ?`, string(sched.Running), id, string(sched.Admitted), attempt)
	})
}

func (s *DB) EndAttempt(ctx context.Context, id string, attempt int, e sched.End) (sched.Record, error) {
	now := s.now()
	err := s.tx(ctx, func(t tx) error {
		st, cur, cancel, err := jobState(t, id)
		if err != nil {
			return err
		}
		if cur != attempt || (st != sched.Admitted && st != sched.Running) {
			return fmt.Errorf("job %s attempt %d: the job is %s at attempt %d: %w", id, attempt, st, cur, sched.ErrConflict)
		}
		res, err := t.exec(`UPDATE job_attempts SET ended_ns = ?, outcome = ?, exit_code = ?, message = ?, log_blob = ? WHERE job_id = ? AND n = ? AND ended_ns = 0`,
			now.UnixNano(), string(e.Outcome), e.Exit, e.Message, e.Log, id, attempt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("job %s attempt %d already ended: %w", id, attempt, sched.ErrConflict)
		}
		var failures, maxAttempts int
		if err := t.row(`SELECT failures, max_attempts FROM jobs WHERE id = ?`, id).Scan(&failures, &maxAttempts); err != nil {
			return err
		}
		next, failures := sched.Next(e.Outcome, failures, maxAttempts, cancel)
		var ended int64
		if next.Final() {
			ended = now.UnixNano()
		}
		_, err = t.exec(`UPDATE jobs SET state = ?, failures = ?, ended_ns = ?, exit_code = ?, message = ?, borrowed = 0, preempt = 0, waiting = 0, devices = '', admitted_ns = CASE WHEN ? = 1 THEN admitted_ns ELSE 0 END WHERE id = ?`,
			string(next), failures, ended, e.Exit, e.Message, b2i(next.Final()), id)
		return err
	})
	if err != nil {
		return sched.Record{}, err
	}
	return s.GetJob(ctx, id)
}

func (s *DB) PreemptJob(ctx context.Context, id string, attempt int, why string) error {
	return s.tx(ctx, func(t tx) error {
		return cas(t, id, attempt, "running", `UPDATE jobs SET preempt = 1, message = ? WHERE id = ? AND attempt = ? AND state IN (?, ?)`,
			why, id, attempt, string(sched.Admitted), string(sched.Running))
	})
}

func (s *DB) SetWaiting(ctx context.Context, id string, attempt int, waiting bool) error {
	return s.tx(ctx, func(t tx) error {
		return cas(t, id, attempt, "running", `UPDATE jobs SET waiting = ? WHERE id = ? AND attempt = ? AND state = ?`, b2i(waiting), id, attempt, string(sched.Running))
	})
}

func (s *DB) CancelJob(ctx context.Context, id, why string) (sched.Record, error) {
	now := s.now()
	err := s.tx(ctx, func(t tx) error {
		st, _, _, err := jobState(t, id)
		if err != nil {
			return err
		}
		switch {
		case st.Final():
			return fmt.Errorf("job %s is %s: %w", id, st, sched.ErrJobFinished)
		case st == sched.Queued:
			_, err = t.exec(`UPDATE jobs SET state = ?, cancel = 1, ended_ns = ?, message = ? WHERE id = ? AND state = ?`,
				string(sched.Cancelled), now.UnixNano(), why, id, string(sched.Queued))
		default:
			_, err = t.exec(`UPDATE jobs SET cancel = 1, message = ? WHERE id = ?`, why, id)
		}
		return err
	})
	if err != nil {
		return sched.Record{}, err
	}
	return s.GetJob(ctx, id)
}

const attemptCols = `job_id, n, team, flavor, gpus, cpu, devices, started_ns, ended_ns, outcome, exit_code, message, log_blob`

func (s *DB) attempts(ctx context.Context, where string, args ...any) ([]sched.Attempt, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+attemptCols+` FROM job_attempts WHERE `+where+` ORDER BY job_id, n`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sched.Attempt
	for rows.Next() {
		var a sched.Attempt
		var started, ended int64
		var outcome string
		if err := rows.Scan(&a.Job, &a.N, &a.Team, &a.Flavor, &a.GPUs, &a.CPU, &a.Devices, &started, &ended, &outcome, &a.Exit, &a.Message, &a.Log); err != nil {
			return nil, err
		}
		a.Started, a.Outcome = time.Unix(0, started), sched.Outcome(outcome)
		if ended != 0 {
			a.Ended = time.Unix(0, ended)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *DB) Attempts(ctx context.Context, id string) ([]sched.Attempt, error) {
	if _, err := getJob(ctx, s, s.r, id); err != nil {
		return nil, err
	}
	return s.attempts(ctx, `job_id = ?`, id)
}

func (s *DB) AttemptsSince(ctx context.Context, t time.Time) ([]sched.Attempt, error) {
	return s.attempts(ctx, `ended_ns = 0 OR ended_ns >= ?`, t.UnixNano())
}

func (s *DB) LinkRun(ctx context.Context, id, run string) error {
	return s.tx(ctx, func(t tx) error {
		if _, _, _, err := jobState(t, id); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO job_runs (job_id, run_id) VALUES (?, ?) ON CONFLICT (job_id, run_id) DO NOTHING`, id, run)
		return err
	})
}

func (s *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	var got bool
	err := s.tx(ctx, func(t tx) error {
		res, err := t.exec(`INSERT INTO leases (name, holder, expires_ns) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ns = excluded.expires_ns
			WHERE leases.holder = excluded.holder OR leases.expires_ns < ?`, name, holder, now.Add(ttl).UnixNano(), now.UnixNano())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		got = n > 0
		return nil
	})
	return got, err
}

func (s *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.tx(ctx, func(t tx) error {
		_, err := t.exec(`DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
}
