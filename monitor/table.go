package monitor

// Report is the drift of a whole table, in the anchor's words.
type Report struct {
	DatasetDrift bool     `json:"dataset_drift"`
	Drifted      int      `json:"drifted"`
	RefRows      int      `json:"ref_rows"`
	CurRows      int      `json:"cur_rows"`
	Columns      []Result `json:"columns"`
	// Histograms are each column's two sides binned alike, in shares:
	// what the HTML report and the server's drift page draw, kept with
	// the report so that a recorded check still draws them.
	Histograms map[string]Hist `json:"histograms,omitempty"`
}
