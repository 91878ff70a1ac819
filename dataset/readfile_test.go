package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTypes(t *testing.T) {
	got, err := ParseTypes([]string{"zip=categorical", "n=int"})
	if err != nil || got["zip"] != Categorical || got["n"] != Int || len(got) != 2 {
		t.Errorf("%v, %v", got, err)
	}
	for _, bad := range []string{"zip", "zip=text"} {
		if _, err := ParseTypes([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestReadCSVFileSetsBadRowsAside(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "t.csv")
	body := "a,b\n1,x\n2,y\n3,z\n4,w\n5,v\n6,u\n7,t\n8,s\n9,r\n10,q\n11,p\n12,o\n13,n\n14,m\n15,l\n16,k\n17,j\n18,i\n19,h\n20,g\n21,f\n22,e\n23,d\n24,c\n25,b\n26,a\n27,z\n28,y\n29,x\n30,w\n31,v\n32,u\n33,t\n34,s\n35,r\n36,q\n37,p\n38,o\n39,n\n40,m\n41,l\n42,k\n43,j\n44,i\n45,h\n46,g\n47,f\n48,e\n49,d\n50,c\n51,b\noops,a\n"
	if err := os.WriteFile(in, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	errs := filepath.Join(dir, "errors", "t.errors.csv")
	// The default policy stops at the bad cell and writes nothing.
	if _, _, _, err := ReadCSVFile(in, ReadOptions{}, errs); err == nil || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("fail policy: %v", err)
	}
	if _, err := os.Stat(errs); err == nil {
		t.Error("a failed read left an errors file")
	}
	tb, rep, path, err := ReadCSVFile(in, ReadOptions{OnError: SetAside}, errs)
	if err != nil || tb.Rows() != 51 || rep.SetAside != 1 || path != errs {
		t.Fatalf("set-aside: rows %d, report %+v, path %q, %v", tb.Rows(), rep, path, err)
	}
	b, err := os.ReadFile(errs)
	if err != nil || !strings.Contains(string(b), "oops") {
		t.Errorf("errors file %q, %v", b, err)
	}
	// Nothing set aside: no errors file named.
	clean := filepath.Join(dir, "clean.csv")
	os.WriteFile(clean, []byte("a\n1\n2\n"), 0o644)
	if _, _, path, err := ReadCSVFile(clean, ReadOptions{OnError: SetAside}, filepath.Join(dir, "none.csv")); err != nil || path != "" {
		t.Errorf("clean read: %q, %v", path, err)
	}
	if _, _, _, err := ReadCSVFile(clean, ReadOptions{OnError: SetAside}, ""); err == nil {
		t.Error("set-aside without an errors file was accepted")
	}
}

func TestIsTrackSet(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long.csv")
	os.WriteFile(long, []byte("track_id,t,x,y,z\nA,0,1,2,3\n"), 0o644)
	table := filepath.Join(dir, "table.csv")
	os.WriteFile(table, []byte("a,b\n1,2\n"), 0o644)
	bom := filepath.Join(dir, "bom.csv")
	os.WriteFile(bom, []byte("\ufefftrack_id,t,x,y,z,alt\n"), 0o644)
	for _, c := range []struct {
		path string
		want bool
	}{{dir, true}, {long, true}, {bom, true}, {table, false}, {filepath.Join(dir, "missing.csv"), false}} {
		if got := IsTrackSet(c.path); got != c.want {
			t.Errorf("IsTrackSet(%s) = %v", filepath.Base(c.path), got)
		}
	}
}
