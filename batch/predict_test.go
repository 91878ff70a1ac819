package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestChooseShard(t *testing.T) {
	env := func(kv map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
	}
	idx := env(map[string]string{"JOB_COMPLETION_INDEX": "2"})
	none := env(nil)
	for _, c := range []struct {
		flag   string
		shards int
		lookup func(string) (string, bool)
		want   Shard
		err    string
	}{
		{"", 0, none, Shard{}, ""},
		{"", 0, idx, Shard{}, ""}, // the index alone asks for nothing
		{"1/4", 0, none, Shard{I: 1, N: 4}, ""},
		{"", 4, idx, Shard{I: 2, N: 4}, ""},
		{"", 2, idx, Shard{}, "want 0..1"},
		{"", 4, none, Shard{}, "JOB_COMPLETION_INDEX"},
		{"", 4, env(map[string]string{"JOB_COMPLETION_INDEX": "x"}), Shard{}, "want 0..3"},
		{"1/4", 4, idx, Shard{}, "not both"},
	} {
		got, err := ChooseShard(c.flag, c.shards, c.lookup)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q %d: %v, %v; want error %q", c.flag, c.shards, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q %d: %+v, %v; want %+v", c.flag, c.shards, got, err, c.want)
		}
	}
}

func TestInputExpansion(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.csv", "a.csv", "notes.txt", "sets/s2/tracks.csv", "sets/s1/tracks.csv", "one/tracks.csv"} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := TableFiles([]string{dir, filepath.Join(dir, "notes.txt")})
	if want := []string{filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "notes.txt")}; err != nil || !reflect.DeepEqual(files, want) {
		t.Errorf("TableFiles: %v, %v; want %v", files, err, want)
	}
	if _, err := TableFiles([]string{filepath.Join(dir, "sets")}); err == nil || !strings.Contains(err.Error(), "no .csv") {
		t.Errorf("a directory without CSV files: %v", err)
	}
	sets, err := TrackSets([]string{filepath.Join(dir, "sets"), filepath.Join(dir, "one")})
	if want := []string{filepath.Join(dir, "sets/s1"), filepath.Join(dir, "sets/s2"), filepath.Join(dir, "one")}; err != nil || !reflect.DeepEqual(sets, want) {
		t.Errorf("TrackSets: %v, %v; want %v", sets, err, want)
	}
	if _, err := TrackSets([]string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no tracks.csv") {
		t.Errorf("an empty directory: %v", err)
	}
	if _, err := TrackSets([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing input was accepted")
	}
}

func TestResumable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("chunk 3: %w", context.Canceled), true},
		{&os.PathError{Op: "write", Path: "p", Err: syscall.ENOSPC}, true},
		{&os.PathError{Op: "mkdir", Path: "p", Err: syscall.ENOTDIR}, false},
		{&os.PathError{Op: "open", Path: "p", Err: syscall.EROFS}, false},
		{&os.PathError{Op: "open", Path: "p", Err: os.ErrPermission}, false},
		{errors.New("p.csv does not fit the model's schema"), false},
	} {
		if got := Resumable(c.err); got != c.want {
			t.Errorf("Resumable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestOnlyShards(t *testing.T) {
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == "JOB_COMPLETION_INDEX" {
				return v, true
			}
			return "", false
		}
	}
	for _, c := range []struct {
		index string
		only  []int
		want  Shard
		err   string
	}{
		{"0", []int{1, 3}, Shard{I: 1, N: 4}, ""},
		{"1", []int{1, 3}, Shard{I: 3, N: 4}, ""},
		{"2", nil, Shard{I: 2, N: 4}, ""},
		{"2", []int{1, 3}, Shard{}, "of a retry of 2 shards"},
	} {
		got, err := ChooseShard("", 4, OnlyShards(c.only, env(c.index)))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %v: err %v, want %q", c.index, c.only, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %v: %+v %v, want %+v", c.index, c.only, got, err, c.want)
		}
	}
}
