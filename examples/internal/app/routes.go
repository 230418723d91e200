package app

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/internal/store"
)

// Paging limits of GET /v1/customers/{id}/history.
const (
	HistoryDefaultLimit = 50
	HistoryMaxLimit     = 500
)

// registerAPI mounts the /v1 routes on p.
func registerAPI(p *platform.Platform, s *Service) {
	h := &handlers{s: s}
	p.HandleFunc("PUT /v1/customers/{id}", platform.Operator, h.putCustomer)
	p.HandleFunc("GET /v1/customers/{id}", platform.Customer("id"), h.getCustomer)
	p.HandleFunc("POST /v1/customers/{id}/usage", platform.Operator, h.postUsage)
	p.HandleFunc("POST /v1/temperature", platform.Operator, h.postTemperature)
	p.HandleFunc("POST /v1/customers/{id}/baseline", platform.Operator, h.postBaseline)
	p.HandleFunc("GET /v1/customers/{id}/baseline", platform.Customer("id"), h.getBaseline)
	p.HandleFunc("POST /v1/settlements", platform.Operator, h.postSettlements)
	p.HandleFunc("GET /v1/customers/{id}/balance", platform.Customer("id"), h.getBalance)
	p.HandleFunc("GET /v1/customers/{id}/history", platform.Customer("id"), h.getHistory)
	p.HandleFunc("POST /v1/customers/{id}/redemptions", platform.Customer("id"), h.postRedemption)
	p.HandleFunc("POST /v1/customers/{id}/redemptions/{hold}/commit", platform.Customer("id"), h.commitRedemption)
	p.HandleFunc("POST /v1/customers/{id}/redemptions/{hold}/void", platform.Customer("id"), h.voidRedemption)
	p.HandleFunc("GET /v1/rulesets", platform.Operator, h.listRuleSets)
	p.HandleFunc("POST /v1/rulesets", platform.Operator, h.postRuleSet)
	p.HandleFunc("GET /v1/rulesets/shadow", platform.Operator, h.shadow)
	p.HandleFunc("POST /v1/rulesets/{version}/validate", platform.Operator, h.validateRuleSet)
	p.HandleFunc("POST /v1/rulesets/{version}/promote", platform.Operator, h.promote)
	p.HandleFunc("POST /v1/rulesets/rollback", platform.Operator, h.rollback)
}

type handlers struct{ s *Service }

// fail renders domain errors: row errors and rule problems as 422 with
// their details, store sentinels as 404/409, the rest via WriteError.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var rows RowErrors
	var rules *RuleSetError
	switch {
	case errors.As(err, &rows):
		writeDetailed(w, r, "rows", rows, rows.Error())
	case errors.As(err, &rules):
		writeDetailed(w, r, "problems", rules.Problems, rules.Error())
	case errors.Is(err, store.ErrNotFound):
		platform.WriteError(w, r, platform.Errorf(http.StatusNotFound, platform.CodeNotFound, "not found"))
	case errors.Is(err, store.ErrConflict):
		platform.WriteError(w, r, platform.Errorf(http.StatusConflict, platform.CodeConflict, "conflict"))
	default:
		platform.WriteError(w, r, err)
	}
}

// writeDetailed writes the error envelope plus a details array (the
// ValidationError schema).
func writeDetailed(w http.ResponseWriter, r *http.Request, key string, details any, msg string) {
	platform.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"error": platform.ErrorDetail{Code: platform.CodeUnprocessable, Message: msg, RequestID: platform.RequestID(r.Context())},
		key:     details,
	})
}

func (h *handlers) putCustomer(w http.ResponseWriter, r *http.Request) {
	var in CustomerInput
	if err := platform.DecodeJSON(r, &in); err != nil {
		fail(w, r, err)
		return
	}
	c, created, err := h.s.PutCustomer(r.Context(), r.PathValue("id"), in)
	if err != nil {
		fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	platform.WriteJSON(w, status, c)
}

func (h *handlers) getCustomer(w http.ResponseWriter, r *http.Request) {
	c, err := h.s.Customer(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, c, err)
}

// mediaType is the request's media type, lower case ("" if unparsable).
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// readBody reads the whole (already size-limited) body, mapping the
// platform's limit to 413.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, platform.Errorf(http.StatusRequestEntityTooLarge, platform.CodePayloadTooLarge, "body larger than %d bytes", mbe.Limit)
	}
	if err != nil {
		return nil, platform.Errorf(http.StatusBadRequest, platform.CodeBadRequest, "reading body: %v", err)
	}
	return b, nil
}

func unsupported(want string) error {
	return platform.Errorf(http.StatusUnsupportedMediaType, platform.CodeUnsupportedMedia, "Content-Type must be %s", want)
}

type ingestResult struct {
	Customer string `json:"customer,omitempty"`
	Station  string `json:"station,omitempty"`
	Rows     int    `json:"rows"`
}

func (h *handlers) postUsage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := h.s.Customer(r.Context(), id); err != nil {
		fail(w, r, err)
		return
	}
	rows, err := decodeUpload(r, ParseUsageCSV, ParseUsageJSON)
	if err != nil {
		fail(w, r, err)
		return
	}
	n, err := h.s.IngestUsage(r.Context(), id, rows)
	if err != nil {
		fail(w, r, err)
		return
	}
	platform.WriteJSON(w, http.StatusOK, ingestResult{Customer: id, Rows: n})
}

func (h *handlers) postTemperature(w http.ResponseWriter, r *http.Request) {
	station := r.URL.Query().Get("station")
	if !platform.ValidID(station) {
		platform.WriteError(w, r, platform.Errorf(http.StatusBadRequest, platform.CodeInvalidID, "station: query parameter required, 1-64 letters, digits, . _ -"))
		return
	}
	rows, err := decodeUpload(r, ParseTemperatureCSV, ParseTemperatureJSON)
	if err != nil {
		fail(w, r, err)
		return
	}
	n, err := h.s.IngestTemperature(r.Context(), station, rows)
	if err != nil {
		fail(w, r, err)
		return
	}
	platform.WriteJSON(w, http.StatusOK, ingestResult{Station: station, Rows: n})
}

// decodeUpload reads a CSV or JSON upload (by Content-Type) into rows with
// the matching parser; any other media type is 415.
func decodeUpload[J, R any](r *http.Request, fromCSV func([]byte) ([]R, error), fromJSON func(J) ([]R, error)) ([]R, error) {
	switch mediaType(r) {
	case "text/csv":
		body, err := readBody(r)
		if err != nil {
			return nil, err
		}
		return fromCSV(body)
	case "application/json":
		var in J
		if err := platform.DecodeJSON(r, &in); err != nil {
			return nil, err
		}
		return fromJSON(in)
	}
	return nil, unsupported("text/csv or application/json")
}

func (h *handlers) postBaseline(w http.ResponseWriter, r *http.Request) {
	var in FitRequest
	if err := platform.DecodeJSON(r, &in); err != nil {
		fail(w, r, err)
		return
	}
	v, err := h.s.FitBaseline(r.Context(), r.PathValue("id"), in)
	respond(w, r, http.StatusOK, v, err)
}

func (h *handlers) getBaseline(w http.ResponseWriter, r *http.Request) {
	v, err := h.s.Baseline(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, v, err)
}

func (h *handlers) postSettlements(w http.ResponseWriter, r *http.Request) {
	var in SettleRequest
	if err := platform.DecodeJSON(r, &in); err != nil {
		fail(w, r, err)
		return
	}
	res, err := h.s.Settle(r.Context(), in)
	respond(w, r, http.StatusOK, res, err)
}

func (h *handlers) getBalance(w http.ResponseWriter, r *http.Request) {
	b, err := h.s.Balance(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, b, err)
}

func (h *handlers) getHistory(w http.ResponseWriter, r *http.Request) {
	page, err := platform.ParsePage(r, HistoryDefaultLimit, HistoryMaxLimit)
	if err != nil {
		fail(w, r, err)
		return
	}
	v, err := h.s.History(r.Context(), r.PathValue("id"), page)
	respond(w, r, http.StatusOK, v, err)
}

func (h *handlers) postRedemption(w http.ResponseWriter, r *http.Request) {
	var in RedemptionInput
	if err := platform.DecodeJSON(r, &in); err != nil {
		fail(w, r, err)
		return
	}
	v, err := h.s.Redeem(r.Context(), r.PathValue("id"), in)
	respond(w, r, http.StatusCreated, v, err)
}

// holdID validates the {hold} wildcard like a customer id.
func holdID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("hold")
	if !platform.ValidID(id) {
		platform.WriteError(w, r, platform.Errorf(http.StatusBadRequest, platform.CodeInvalidID, "invalid redemption id"))
		return "", false
	}
	return id, true
}

// CommitInput optionally commits part of a hold.
type CommitInput struct {
	Points string `json:"points,omitempty"`
}

func (h *handlers) commitRedemption(w http.ResponseWriter, r *http.Request) {
	id, ok := holdID(w, r)
	if !ok {
		return
	}
	var in CommitInput
	if r.ContentLength != 0 {
		if err := platform.DecodeJSON(r, &in); err != nil {
			fail(w, r, err)
			return
		}
	}
	v, err := h.s.CommitRedemption(r.Context(), r.PathValue("id"), id, in.Points)
	respond(w, r, http.StatusOK, v, err)
}

func (h *handlers) voidRedemption(w http.ResponseWriter, r *http.Request) {
	id, ok := holdID(w, r)
	if !ok {
		return
	}
	v, err := h.s.VoidRedemption(r.Context(), r.PathValue("id"), id)
	respond(w, r, http.StatusOK, v, err)
}

func (h *handlers) listRuleSets(w http.ResponseWriter, r *http.Request) {
	v, err := h.s.RuleSets(r.Context())
	if err != nil {
		fail(w, r, err)
		return
	}
	platform.WriteJSON(w, http.StatusOK, map[string]any{"rule_sets": v})
}

func (h *handlers) postRuleSet(w http.ResponseWriter, r *http.Request) {
	mt := mediaType(r)
	switch mt {
	case "application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
	default:
		fail(w, r, unsupported("application/yaml or application/json"))
		return
	}
	body, err := readBody(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	v, created, err := h.s.UploadRuleSet(r.Context(), body, mt == "application/json")
	if err != nil {
		fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	platform.WriteJSON(w, status, v)
}

func version(w http.ResponseWriter, r *http.Request) (int, bool) {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v <= 0 || v > 1<<31 {
		platform.WriteError(w, r, platform.Errorf(http.StatusBadRequest, platform.CodeInvalidID, "version must be a positive integer"))
		return 0, false
	}
	return v, true
}

func (h *handlers) validateRuleSet(w http.ResponseWriter, r *http.Request) {
	v, ok := version(w, r)
	if !ok {
		return
	}
	rep, err := h.s.ValidateRuleSet(r.Context(), v)
	respond(w, r, http.StatusOK, rep, err)
}

func (h *handlers) shadow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cand, err := strconv.Atoi(q.Get("candidate"))
	if err != nil || cand <= 0 {
		platform.WriteError(w, r, platform.Errorf(http.StatusBadRequest, platform.CodeBadRequest, "candidate: a positive rule-set version is required"))
		return
	}
	var from, to time.Time
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(b.name); v != "" {
			t, err := parseDate(v)
			if err != nil {
				platform.WriteError(w, r, platform.Errorf(http.StatusBadRequest, platform.CodeBadRequest, "%s: %v", b.name, err))
				return
			}
			*b.dst = t
		}
	}
	rep, err := h.s.Shadow(r.Context(), cand, from, to)
	respond(w, r, http.StatusOK, rep, err)
}

func (h *handlers) promote(w http.ResponseWriter, r *http.Request) {
	v, ok := version(w, r)
	if !ok {
		return
	}
	rs, err := h.s.PromoteRuleSet(r.Context(), v)
	respond(w, r, http.StatusOK, rs, err)
}

func (h *handlers) rollback(w http.ResponseWriter, r *http.Request) {
	rs, err := h.s.RollbackRuleSet(r.Context())
	respond(w, r, http.StatusOK, rs, err)
}

// respond writes v as JSON with status, or the error envelope when err is
// not nil: the tail of every handler that returns one service result.
func respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		fail(w, r, err)
		return
	}
	platform.WriteJSON(w, status, v)
}
