// Package release describes a build of reckon from the build information
// the Go toolchain stamps into every binary: its version, the commit and
// the commit's time (never the clock at build time, so two builds of one
// commit are byte-identical), the Go version, the modules linked in, and
// a CycloneDX software bill of materials of them.
//
// The same functions read a running binary's own information
// (runtime/debug.ReadBuildInfo) and another binary's file
// (debug/buildinfo.ReadFile), so `reckon version --sbom` and the image
// builder agree on what a binary holds.
package release

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// Module is one module linked into the binary.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	// Sum is the go.sum hash (h1:...); empty for a replaced module from a
	// local directory.
	Sum string `json:"sum,omitempty"`
}

// Info is what `reckon version --json` prints.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// BuildTime is the commit's time: a build of a given commit always
	// says the same.
	BuildTime string `json:"build_time,omitempty"`
	Modified  bool   `json:"modified"`
	Go        string `json:"go"`
	// Platform is GOOS/GOARCH, "" when the build did not record them.
	Platform string `json:"platform"`
	// Build is the flags the binary was built with (CGO_ENABLED,
	// -trimpath, -ldflags, ...).
	Build   map[string]string `json:"build,omitempty"`
	Modules []Module          `json:"modules"`
}

// Describe reads bi. version is the one set at link time ("" or "dev"
// when none was: then the module's version, if the binary was built with
// go install MODULE@VERSION).
func Describe(bi *debug.BuildInfo, version string) Info {
	in := Info{Version: version, Commit: "unknown", Go: bi.GoVersion, Build: map[string]string{}}
	var goos, goarch string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.BuildTime = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		case "vcs":
		default:
			in.Build[s.Key] = s.Value
		}
	}
	if goos != "" && goarch != "" { // go run and go test stamp neither
		in.Platform = goos + "/" + goarch
	}
	if in.Version == "" || in.Version == "dev" {
		in.Version = "dev"
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			in.Version = v
		}
	}
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		in.Modules = append(in.Modules, Module{Path: d.Path, Version: m.Version, Sum: m.Sum})
	}
	sort.Slice(in.Modules, func(i, j int) bool { return in.Modules[i].Path < in.Modules[j].Path })
	return in
}

// CycloneDX 1.5 JSON (https://cyclonedx.org/docs/1.5/json/), the parts an
// SBOM of a Go binary fills.
type (
	bom struct {
		BOMFormat    string       `json:"bomFormat"`
		SpecVersion  string       `json:"specVersion"`
		SerialNumber string       `json:"serialNumber"`
		Version      int          `json:"version"`
		Metadata     bomMetadata  `json:"metadata"`
		Components   []component  `json:"components"`
		Dependencies []dependency `json:"dependencies"`
	}
	bomMetadata struct {
		Timestamp  string        `json:"timestamp,omitempty"`
		Tools      bomTools      `json:"tools"`
		Component  component     `json:"component"`
		Properties []bomProperty `json:"properties,omitempty"`
	}
	bomTools struct {
		Components []component `json:"components"`
	}
	component struct {
		Type       string        `json:"type"`
		BOMRef     string        `json:"bom-ref,omitempty"`
		Name       string        `json:"name"`
		Version    string        `json:"version,omitempty"`
		PURL       string        `json:"purl,omitempty"`
		Hashes     []bomHash     `json:"hashes,omitempty"`
		Properties []bomProperty `json:"properties,omitempty"`
	}
	bomHash struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	}
	bomProperty struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	dependency struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	}
)

// purl is a Go module's package URL (https://github.com/package-url/purl-spec):
// pkg:golang/NAMESPACE/NAME@VERSION, the path's segments encoded.
func purl(path, version string) string {
	p := "pkg:golang/" + strings.ToLower(path)
	if version != "" && version != "(devel)" {
		p += "@" + version
	}
	return p
}

// SBOM is a CycloneDX 1.5 JSON bill of materials of the binary bi
// describes: the main module, every module linked in (its go.sum h1 hash,
// which is SHA-256 of the module's files, as the component's hash) and the
// Go standard library. Its serial number is derived from its content, and
// its timestamp is the commit's, so the SBOM of a build is as
// reproducible as the build.
func SBOM(bi *debug.BuildInfo, version string) ([]byte, error) {
	in := Describe(bi, version)
	main := component{Type: "application", Name: "reckon", Version: in.Version, BOMRef: purl(bi.Main.Path, in.Version),
		PURL:       purl(bi.Main.Path, in.Version),
		Properties: []bomProperty{{"reckon:commit", in.Commit}, {"reckon:modified", fmt.Sprint(in.Modified)}, {"reckon:platform", in.Platform}}}
	b := bom{BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		Metadata: bomMetadata{Timestamp: in.BuildTime, Component: main,
			Tools: bomTools{Components: []component{{Type: "application", Name: "reckon version --sbom", Version: in.Version}}}}}
	keys := make([]string, 0, len(in.Build))
	for k := range in.Build {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.Metadata.Properties = append(b.Metadata.Properties, bomProperty{"go:build:" + k, in.Build[k]})
	}
	std := component{Type: "library", Name: "stdlib", Version: in.Go, BOMRef: purl("stdlib", in.Go), PURL: purl("stdlib", in.Go)}
	deps := []string{std.BOMRef}
	b.Components = append(b.Components, std)
	for _, m := range in.Modules {
		c := component{Type: "library", Name: m.Path, Version: m.Version, BOMRef: purl(m.Path, m.Version), PURL: purl(m.Path, m.Version)}
		if h, ok := strings.CutPrefix(m.Sum, "h1:"); ok {
			if raw, err := base64.StdEncoding.DecodeString(h); err == nil {
				c.Hashes = []bomHash{{Alg: "SHA-256", Content: hex.EncodeToString(raw)}}
			}
		}
		b.Components = append(b.Components, c)
		deps = append(deps, c.BOMRef)
	}
	b.Dependencies = []dependency{{Ref: main.BOMRef, DependsOn: deps}}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	b.SerialNumber = "urn:uuid:" + uuidFrom(sum[:16])
	return json.MarshalIndent(b, "", "  ")
}

// uuidFrom formats 16 bytes as an RFC 9562 version 8 (custom) UUID.
func uuidFrom(b []byte) string {
	u := make([]byte, 16)
	copy(u, b)
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// CommitTime parses Info.BuildTime.
func (in Info) CommitTime() (time.Time, error) { return time.Parse(time.RFC3339, in.BuildTime) }
