package batch

import (
	"testing"

	"github.com/reckon-ml/reckon/tabular"
)

// BenchmarkScoreTumorGBDT scores 200,000 rows of the tumor table with the
// default GBDT on one worker (go test -bench ScoreTumor -cpuprofile ...).
func BenchmarkScoreTumorGBDT(b *testing.B) {
	recs, sc := bigFrame(b, tumorModelFull(b), 200000)
	for b.Loop() {
		if _, err := Score(recs, sc, 1, 4096); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func tumorModelFull(b *testing.B) *tabular.Model {
	return tumorModelSpec(b, tabular.DefaultSpec(tabular.KindGBDT))
}

func bigFrame(b *testing.B, m *tabular.Model, rows int) ([]Record, Scorer) {
	_, fr := tumorData(b)
	big := &tabular.Frame{Rows: rows, Cols: fr.Cols, Categorical: fr.Categorical}
	for i := range rows {
		big.X = append(big.X, fr.X[(i%fr.Rows)*fr.Cols:(i%fr.Rows+1)*fr.Cols]...)
	}
	return FrameRecords(big), FrameScorer(m)
}
