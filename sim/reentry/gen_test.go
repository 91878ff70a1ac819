package reentry

import (
	"context"
	"testing"
)

func collect(t testing.TB, cfg Config) []Track {
	t.Helper()
	var out []Track
	if err := Generate(context.Background(), cfg, func(ts []Track) error { out = append(out, ts...); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

func BenchmarkGenerateTrack(b *testing.B) {
	cfg := DefaultConfig()
	for i := 0; b.Loop(); i++ {
		if _, err := generateFlight(&cfg, i); err != nil {
			b.Fatal(err)
		}
	}
}
