package release

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"runtime/debug"
	"testing"
)

func buildInfo() *debug.BuildInfo {
	return &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/reckon-ml/reckon", Version: "v0.0.0-20261202122733-12b3fef55fb8"},
		Deps: []*debug.Module{
			{Path: "gonum.org/v1/gonum", Version: "v0.17.0", Sum: "h1:VbpOemQlsSMrYmn7T2OUvQ4dqxQXU+ouZFQsZOx50z4="},
			{Path: "github.com/spf13/cobra", Version: "v1.10.2", Sum: "h1:DMTTonx5m65Ic0GOoRY2c16WCbHxOOw6xxezuLaBpcU="},
			{Path: "example.com/forked", Version: "v1.0.0", Replace: &debug.Module{Path: "../forked", Version: "(devel)"}},
		},
		Settings: []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"}, {Key: "CGO_ENABLED", Value: "0"}, {Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"},
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "12b3fef55fb813e77f91ea559c0d5f3389fddc18"},
			{Key: "vcs.time", Value: "2026-12-02T12:27:33Z"}, {Key: "vcs.modified", Value: "false"},
		},
	}
}

func TestDescribe(t *testing.T) {
	for _, c := range []struct{ linked, want string }{{"", "v0.0.0-20261202122733-12b3fef55fb8"}, {"dev", "v0.0.0-20261202122733-12b3fef55fb8"}, {"v1.2.3", "v1.2.3"}} {
		in := Describe(buildInfo(), c.linked)
		if in.Version != c.want {
			t.Errorf("linked %q: version %q, want %q", c.linked, in.Version, c.want)
		}
	}
	in := Describe(buildInfo(), "")
	if in.Commit != "12b3fef55fb813e77f91ea559c0d5f3389fddc18" || in.BuildTime != "2026-12-02T12:27:33Z" || in.Modified || in.Platform != "linux/amd64" || in.Go != "go1.26.8" {
		t.Errorf("info %+v", in)
	}
	if in.Build["CGO_ENABLED"] != "0" || in.Build["-trimpath"] != "true" || in.Build["vcs.time"] != "" {
		t.Errorf("build flags %v", in.Build)
	}
	// Sorted by path; a replaced module reports its replacement's version.
	want := []string{"example.com/forked (devel)", "github.com/spf13/cobra v1.10.2", "gonum.org/v1/gonum v0.17.0"}
	for i, m := range in.Modules {
		if got := m.Path + " " + m.Version; got != want[i] {
			t.Errorf("module %d: %s, want %s", i, got, want[i])
		}
	}
	if tm, err := in.CommitTime(); err != nil || tm.Unix() != 1796214453 {
		t.Errorf("commit time %v %v", tm, err)
	}
	bare := Describe(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "")
	if bare.Version != "dev" || bare.Commit != "unknown" {
		t.Errorf("a build without VCS stamps: %+v", bare)
	}
}

// TestSBOM checks the CycloneDX document field by field against the
// specification's required shape, and each hash against an independent
// decoding of the go.sum line.
func TestSBOM(t *testing.T) {
	b, err := SBOM(buildInfo(), "")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["bomFormat"] != "CycloneDX" || doc["specVersion"] != "1.5" || doc["version"] != 1.0 {
		t.Errorf("header %v %v %v", doc["bomFormat"], doc["specVersion"], doc["version"])
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(doc["serialNumber"].(string)) {
		t.Errorf("serial number %v", doc["serialNumber"])
	}
	meta := doc["metadata"].(map[string]any)
	if meta["timestamp"] != "2026-12-02T12:27:33Z" {
		t.Errorf("timestamp %v: want the commit's", meta["timestamp"])
	}
	if c := meta["component"].(map[string]any); c["purl"] != "pkg:golang/github.com/reckon-ml/reckon@v0.0.0-20261202122733-12b3fef55fb8" || c["type"] != "application" {
		t.Errorf("main component %v", c)
	}
	comps := doc["components"].([]any)
	if len(comps) != 4 { // stdlib and three modules
		t.Fatalf("%d components", len(comps))
	}
	raw, _ := base64.StdEncoding.DecodeString("VbpOemQlsSMrYmn7T2OUvQ4dqxQXU+ouZFQsZOx50z4=")
	found := map[string]bool{}
	for _, c := range comps {
		m := c.(map[string]any)
		found[m["purl"].(string)] = true
		if m["name"] == "gonum.org/v1/gonum" {
			h := m["hashes"].([]any)[0].(map[string]any)
			if h["alg"] != "SHA-256" || h["content"] != hex.EncodeToString(raw) {
				t.Errorf("gonum hash %v", h)
			}
		}
	}
	for _, p := range []string{"pkg:golang/stdlib@go1.26.8", "pkg:golang/gonum.org/v1/gonum@v0.17.0", "pkg:golang/github.com/spf13/cobra@v1.10.2", "pkg:golang/example.com/forked"} {
		if !found[p] {
			t.Errorf("no component %s in %v", p, found)
		}
	}
	deps := doc["dependencies"].([]any)[0].(map[string]any)
	if len(deps["dependsOn"].([]any)) != 4 {
		t.Errorf("dependencies %v", deps)
	}
	again, _ := SBOM(buildInfo(), "")
	if string(again) != string(b) {
		t.Error("two SBOMs of one build differ")
	}
}
