package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCommandsParse: every `go run ./cmd/reckon ...` command in the
// README names a command that exists and flags it takes (issue 12: the
// README had placeholders and flags that did not exist). Running them all
// takes minutes and is done by hand before a release (see the issue's
// closing note); this catches a renamed command or flag at once.
func TestReadmeCommandsParse(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		cur := ""
		for _, line := range strings.Split(block[1], "\n") {
			cur += " " + strings.TrimSuffix(strings.TrimSpace(line), "\\")
			if strings.HasSuffix(strings.TrimSpace(line), "\\") {
				continue
			}
			// $(go run ./cmd/reckon ...) substitutions: checked on their own.
			for _, sub := range regexp.MustCompile(`\$\((go run \./cmd/reckon [^)]*)\)`).FindAllStringSubmatch(cur, -1) {
				cmds = append(cmds, sub[1])
			}
			cur = regexp.MustCompile(`\$\(go run \./cmd/reckon [^)]*\)`).ReplaceAllString(cur, "RUN_A RUN_B")
			if i := strings.Index(cur, "go run ./cmd/reckon "); i >= 0 {
				c := cur[i:]
				if j := strings.Index(c, ")"); j >= 0 && strings.HasPrefix(strings.TrimSpace(cur), "source") {
					c = c[:j]
				}
				cmds = append(cmds, c)
			}
			cur = ""
		}
	}
	if len(cmds) < 25 {
		t.Fatalf("found only %d reckon commands in the README", len(cmds))
	}
	for _, c := range cmds {
		args := shellWords(strings.TrimPrefix(c, "go run ./cmd/reckon "))
		root := testApp().rootCmd()
		root.InitDefaultCompletionCmd() // cobra adds it when executing
		cmd, rest, err := root.Find(args)
		if err != nil || cmd == root {
			t.Errorf("README: %s: no such command (%v)", c, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("README: %s: %v", c, err)
		}
		if cmd.Args != nil {
			if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
				t.Errorf("README: %s: %v", c, err)
			}
		}
	}
}

// shellWords splits a command line the way the shell would for these
// commands: spaces, single and double quotes, a trailing # comment.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	in := byte(0)
	has := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in != 0 && c == in:
			in = 0
		case in != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			in, has = c, true
		case c == '#' && cur.Len() == 0 && !has:
			return out
		case c == ' ' || c == '\t':
			if cur.Len() > 0 || has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 || has {
		out = append(out, cur.String())
	}
	return out
}

// TestDemoNextCommandsParse: the commands the demo suggests at its end
// exist and take the flags given (they use the examples extracted from the
// binary, so they work wherever the demo ran).
func TestDemoNextCommandsParse(t *testing.T) {
	var b strings.Builder
	printDemoNext(&b, "/tmp/reckon-demo-1", false)
	out := b.String()
	i := strings.Index(out, "next:")
	if i < 0 {
		t.Fatalf("no next: in\n%s", out)
	}
	n := 0
	for _, line := range strings.Split(out[i+len("next:"):], "\n") {
		for _, c := range strings.Split(line, "&&") {
			c = strings.TrimSpace(c)
			if !strings.HasPrefix(c, "reckon ") {
				continue
			}
			n++
			root := testApp().rootCmd()
			cmd, rest, err := root.Find(shellWords(strings.TrimPrefix(c, "reckon ")))
			if err != nil || cmd == root {
				t.Errorf("demo suggests %q: no such command", c)
				continue
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("demo suggests %q: %v", c, err)
			}
		}
	}
	if n < 3 {
		t.Errorf("only %d suggested commands in %q", n, out[i:])
	}
	if !strings.Contains(out, "--keep") {
		t.Error("the demo does not say that --keep keeps its files")
	}
}
