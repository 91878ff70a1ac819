package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/auth"
)

// FuzzMoveAliasBody: whatever the body of a promotion, the server answers
// with a JSON status it means (never 500) and moves the alias only for a
// body that says a version and a reason.
// go test ./server -fuzz FuzzMoveAliasBody -fuzztime 60s
func FuzzMoveAliasBody(f *testing.F) {
	for _, s := range []string{`{"version": 1, "reason": "x"}`, `{"version": 1e400}`, `{"version": -1, "reason": ""}`, `[]`, `{"reason": "\u0000"}`, `{"version":1,"reason":"x"} {}`, ""} {
		f.Add(s)
	}
	fx := newFixture(f)
	tr := fx.tokens[auth.Trainer]
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("PUT", "/api/v1/models/tumor/aliases/fuzz", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tr)
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusConflict, http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%q: not JSON", body)
		}
	})
}
