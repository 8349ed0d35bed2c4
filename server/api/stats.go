package api

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/hushphone/hushphone/server/store"
)

// DefaultServiceThreshold is the service level's threshold when the
// request names none: the share of calls answered within 20 s.
const DefaultServiceThreshold = 20 * time.Second

// maxStatsPeriod bounds the period one request may sum.
const maxStatsPeriod = 366 * 24 * time.Hour

// queueStatsResponse is one queue's figures.
type queueStatsResponse struct {
	Queue           string  `json:"queue"`
	Offered         int     `json:"offered"`
	Answered        int     `json:"answered"`
	Abandoned       int     `json:"abandoned"`
	WithinThreshold int     `json:"within_threshold"`
	ServiceLevel    float64 `json:"service_level"` // 0 to 1
	AverageWaitMs   int64   `json:"average_wait_ms"`
	AverageHandleMs int64   `json:"average_handle_ms"`
}

type agentStatsResponse struct {
	Agent   string `json:"agent"`
	Handled int    `json:"handled"`
}

type statsResponse struct {
	From        time.Time            `json:"from"`
	To          time.Time            `json:"to"`
	ThresholdMs int64                `json:"threshold_ms"`
	Queues      []queueStatsResponse `json:"queues"`
	Agents      []agentStatsResponse `json:"agents"`
}

// stats sums the call log over a period for the wallboard: per queue,
// the inbound calls offered, answered and abandoned, the service level,
// the average wait and handle time; per agent, the calls handled.
// ?from= and ?to= are RFC 3339 times (default: from the server's midnight
// to now; a browser sends its own midnight), ?threshold= a duration such
// as 20s (the service level's, default 20 s).
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.p.Now()
	y, m, d := now.Date()
	from, to := time.Date(y, m, d, 0, 0, 0, 0, now.Location()), now
	if !readPeriod(w, r, &from, &to) {
		return
	}
	if !to.After(from) || to.Sub(from) > maxStatsPeriod {
		writeError(w, http.StatusBadRequest, "to must be after from, and the period at most 366 days")
		return
	}
	threshold := DefaultServiceThreshold
	if v := q.Get("threshold"); v != "" {
		t, err := time.ParseDuration(v)
		if err != nil || t < time.Second || t > time.Hour {
			writeError(w, http.StatusBadRequest, "threshold must be a duration from 1s to 1h, such as 20s")
			return
		}
		threshold = t
	}
	ctx := r.Context()
	queues, err := s.p.Store.QueueFiguresBetween(ctx, from, to, threshold)
	if err != nil {
		s.log.Error("sum the call log", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not sum the call log; try again")
		return
	}
	if queues, err = withEveryQueue(ctx, s.p.Store, queues); err != nil {
		s.log.Error("list the queues", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not list the queues; try again")
		return
	}
	handled, err := s.p.Store.CallsHandledBetween(ctx, from, to)
	if err != nil {
		s.log.Error("count the calls handled", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not sum the call log; try again")
		return
	}
	out := statsResponse{From: from, To: to, ThresholdMs: threshold.Milliseconds(),
		Queues: make([]queueStatsResponse, 0, len(queues)), Agents: make([]agentStatsResponse, 0, len(handled))}
	for _, f := range queues {
		out.Queues = append(out.Queues, queueStats(f))
	}
	for a, n := range handled {
		out.Agents = append(out.Agents, agentStatsResponse{Agent: a, Handled: n})
	}
	sort.Slice(out.Agents, func(i, j int) bool { return out.Agents[i].Agent < out.Agents[j].Agent })
	writeJSON(w, http.StatusOK, out)
}

// withEveryQueue adds, with zero figures, the queues that exist but had
// no call in the period, so that a wallboard shows a queue from the moment
// an admin adds it; queues are in name order, the default first.
func withEveryQueue(ctx context.Context, st *store.Store, figures []store.QueueFigures) ([]store.QueueFigures, error) {
	qs, err := st.ListQueues(ctx)
	if err != nil {
		return nil, err //nolint:wrapcheck // the store's error says what failed
	}
	have := make(map[string]bool, len(figures))
	for _, f := range figures {
		have[f.Queue] = true
	}
	for _, q := range qs {
		if !have[q.Name] {
			figures = append(figures, store.QueueFigures{Queue: q.Name})
		}
	}
	sort.SliceStable(figures, func(i, j int) bool {
		a, b := figures[i].Queue, figures[j].Queue
		if (a == store.DefaultQueue) != (b == store.DefaultQueue) {
			return a == store.DefaultQueue
		}
		return a < b
	})
	return figures, nil
}

func queueStats(f store.QueueFigures) queueStatsResponse {
	return queueStatsResponse{
		Queue: f.Queue, Offered: f.Offered, Answered: f.Answered, Abandoned: f.Abandoned,
		WithinThreshold: f.WithinThreshold, ServiceLevel: f.ServiceLevel(),
		AverageWaitMs: f.AverageWait().Milliseconds(), AverageHandleMs: f.AverageHandle().Milliseconds(),
	}
}
