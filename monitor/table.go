package monitor

// Report is the drift of a whole table, in the anchor's words.
type Report struct {
	DatasetDrift bool                         `json:"dataset_drift"`
	Drifted      int                          `json:"drifted"`
	RefRows      int                          `json:"ref_rows"`
	CurRows      int                          `json:"cur_rows"`
	Columns      []Result                     `json:"columns"`
	profiles     map[string][2]*ColumnProfile // for HTML
}
