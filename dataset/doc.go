// Package dataset reads, validates, summarises, versions and splits the data
// reckon trains on: typed tables from CSV and sets of tracks (long-format
// tracks.csv plus labels.csv, reentry-spec.md §6).
//
// Validation is strict and explicit. Every problem names the file, line,
// column (or track id) and the offending text. A table read either fails on
// the first bad row or, with the set-aside policy, writes the row to an
// errors file; rows are never dropped silently. Track loading follows the
// edge-case table of reentry-spec.md §7: rows are regrouped and sorted by
// time, duplicates and non-finite rows are dropped and counted, and unit
// mistakes fail loudly instead of being converted.
//
// A dataset's version is the sha256 of a canonical encoding of its parsed
// values (Table.Hash, TrackSet.Hash), so a re-saved or reordered file whose
// meaning is unchanged keeps its version.
package dataset
