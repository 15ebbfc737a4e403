package app

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"carewallet/app/storage"
	"carewallet/push"
)

// Metrics are the process's Prometheus series, served by Handler on the
// separate CAREWALLET_METRICS_ADDR listener and never on the API's port.
// The domain packages know nothing of Prometheus: push's counters are read
// from push.Stats at scrape time, and jobs report through ObserveJob.
//
// Label values come from closed sets only: the route pattern (never the
// path as sent, which holds ids and could be anything a client makes up),
// the method, the status, an outcome, a job name.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
	jobRuns     *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	jobLag      *prometheus.GaugeVec
	jobLastOK   *prometheus.GaugeVec
}

// routeUnmatched labels requests that matched no route (404s, and those
// answered before routing: a CORS preflight, a bad path, an oversized
// body), so made-up paths cannot add series.
const routeUnmatched = "unmatched"

// NewMetrics registers the series, with the Go runtime's and the
// process's own.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carewallet_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "carewallet_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carewallet_store_errors_total",
			Help: "Database errors that reached a request (answered 500) or a job, by where they surfaced.",
		}, []string{"where"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carewallet_job_runs_total",
			Help: "Background job runs by job and result (ok, error).",
		}, []string{"job", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "carewallet_job_duration_seconds",
			Help:    "Duration of background job runs.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"job"}),
		jobLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "carewallet_job_lag_seconds",
			Help: "How late the job's last run started after it was due.",
		}, []string{"job"}),
		jobLastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "carewallet_job_last_success_timestamp_seconds",
			Help: "Unix time at which the job's last successful run ended.",
		}, []string{"job"}),
	}
	// Store errors are rare: their series exist at 0 from the start, so
	// an alert on their rate needs no absent() guard.
	m.storeErrors.WithLabelValues("request")
	m.storeErrors.WithLabelValues("job")
	m.reg.MustRegister(m.requests, m.latency, m.storeErrors, m.jobRuns, m.jobDuration, m.jobLag, m.jobLastOK,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// WatchPush exports the push pipeline's counters (FCM sends by outcome,
// inbox events written) and the open websockets; they are read from the
// service when scraped.
func (m *Metrics) WatchPush(p *push.Service) {
	outcomes := []struct {
		name string
		get  func(push.Stats) int64
	}{
		{"sent", func(s push.Stats) int64 { return s.Sent }},
		{"retried", func(s push.Stats) int64 { return s.Retried }},
		{"failed", func(s push.Stats) int64 { return s.Failed }},
		{"token_removed", func(s push.Stats) int64 { return s.TokensRemoved }},
		{"dropped", func(s push.Stats) int64 { return s.Dropped }},
	}
	for _, o := range outcomes {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "carewallet_fcm_sends_total",
			Help:        "FCM sends by outcome: sent, retried (a retryable failure, tried again), failed (given up), token_removed (unregistered token), dropped (queue full; the event stays in the inbox).",
			ConstLabels: prometheus.Labels{"outcome": o.name},
		}, func() float64 { return float64(o.get(p.Stats())) }))
	}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "carewallet_inbox_events_written_total",
			Help: "Events this instance appended to users' inboxes.",
		}, func() float64 { return float64(p.Stats().EventsWritten) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "carewallet_messages_held_total",
			Help:        "Messages the one message policy held back, by reason: budget (skipped: the weekly budget was spent), opted_out (inbox only, no push), deferred (push waited for the end of quiet hours).",
			ConstLabels: prometheus.Labels{"reason": push.ReasonBudget},
		}, func() float64 { return float64(p.Stats().SkippedBudget) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "carewallet_messages_held_total",
			Help:        "Messages the one message policy held back, by reason: budget (skipped: the weekly budget was spent), opted_out (inbox only, no push), deferred (push waited for the end of quiet hours).",
			ConstLabels: prometheus.Labels{"reason": push.ReasonOptedOut},
		}, func() float64 { return float64(p.Stats().OptedOut) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "carewallet_messages_held_total",
			Help:        "Messages the one message policy held back, by reason: budget (skipped: the weekly budget was spent), opted_out (inbox only, no push), deferred (push waited for the end of quiet hours).",
			ConstLabels: prometheus.Labels{"reason": push.ReasonDeferred},
		}, func() float64 { return float64(p.Stats().Deferred) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "carewallet_websockets_open",
			Help: "Websockets open on this instance.",
		}, func() float64 { return float64(p.Hub().Count()) }),
	)
}

// ObserveJob records one run of a background job: it was due at due,
// started at start and took d; err is its result.
func (m *Metrics) ObserveJob(job string, due, start time.Time, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
		m.StoreError("job", err)
	} else {
		m.jobLastOK.WithLabelValues(job).Set(float64(start.Add(d).UnixNano()) / 1e9)
	}
	m.jobRuns.WithLabelValues(job, result).Inc()
	m.jobDuration.WithLabelValues(job).Observe(d.Seconds())
	m.jobLag.WithLabelValues(job).Set(max(start.Sub(due), 0).Seconds())
}

// StoreError counts err when it comes from the database.
func (m *Metrics) StoreError(where string, err error) {
	if m != nil && storage.IsDatabaseError(err) {
		m.storeErrors.WithLabelValues(where).Inc()
	}
}

// request records one answered request.
func (m *Metrics) request(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}
