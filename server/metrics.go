package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reckon-ml/reckon/auth"
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

func newMetrics() *metrics {
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
	return m
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
