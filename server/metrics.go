package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/sched"
)

// metrics are the server's own Prometheus series, in a registry of its
// own (two servers in one process, as tests make, do not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	predict  *prometheus.HistogramVec
	rows     prometheus.Counter
}

func newMetrics(jobs sched.Store) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reckon_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "reckon_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"route"}),
		predict: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "reckon_prediction_duration_seconds",
			Help: "Time to score one online prediction request, by model.", Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16)}, []string{"model"}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{Name: "reckon_prediction_rows_total", Help: "Rows scored online."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.predict, m.rows, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if jobs != nil {
		m.reg.MustRegister(jobsCollector{jobs})
	}
	return m
}

// jobsCollector reports the queue depth and the running jobs per team,
// read from the job store at each scrape (so that every server of a
// deployment reports the same numbers, whichever scheduler runs them).
type jobsCollector struct{ js sched.Store }

var jobsDesc = prometheus.NewDesc("reckon_jobs", "Jobs not yet ended, by team and state (queued: the queue depth; admitted and running hold capacity).", []string{"team", "state"}, nil)

func (jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	states := []sched.State{sched.Queued, sched.Admitted, sched.Running}
	jobs, err := c.js.ListJobs(ctx, sched.JobQuery{States: states})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	type key struct {
		team  string
		state sched.State
	}
	n := map[key]int{}
	teams := map[string]bool{}
	for _, j := range jobs {
		n[key{j.Team, j.State}]++
		teams[j.Team] = true
	}
	// Every state of a team with jobs, zeros included: a queue that
	// empties reads 0, not a stale last value.
	for team := range teams {
		for _, st := range states {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n[key{team, st}]), team, string(st))
		}
	}
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (s *Server) prometheus(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.Read, ""); err != nil {
		return err
	}
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
