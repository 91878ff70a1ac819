package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reckon-ml/reckon/auth"
)

// chromium is Debian's browser; the test is skipped without it unless
// $RECKON_REQUIRE_BROWSER (CI sets it) makes that a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("RECKON_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium on PATH, and $RECKON_REQUIRE_BROWSER is set")
	}
	t.Skip("no chromium (apt-get install chromium)")
	return ""
}

// TestInABrowser (issue 16): headless Chromium signs in as a viewer,
// filters the runs, opens a run and sees its chart, ticks two runs and
// opens their comparison, finds no promote form;
// signs in as a trainer and promotes a model, which the alias history
// then shows. Screenshots go to $RECKON_SCREENSHOTS (default: the test's
// temporary directory).
func TestInABrowser(t *testing.T) {
	bin := chromium(t)
	f := newFixture(t)
	servedTumor(t, f)
	second := secondRun(t, f)
	srv := startHTTP(t, f.srv)
	shots := os.Getenv("RECKON_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1100, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	type css = chromedp.CSS
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			b, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), b, 0o644)
		})
	}
	signIn := func(token string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(srv+"/ui/runs"), // redirects to the sign-in
			chromedp.WaitVisible(css(`input[name=token]`)),
			chromedp.SendKeys(css(`input[name=token]`), token),
			chromedp.Submit(css(`input[name=token]`)),
			chromedp.WaitVisible(css(`table`)),
		)
	}
	session := func(name string, fn func(t *testing.T, ctx context.Context)) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := chromedp.NewContext(actx)
			defer cancel()
			if err := chromedp.Do(ctx); err != nil { // starts the browser, without a deadline
				t.Fatal(err)
			}
			tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			fn(t, tctx)
		})
	}
	read := func(t *testing.T, ctx context.Context, sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	session("viewer", func(t *testing.T, ctx context.Context) {
		if err := chromedp.Do(ctx,
			signIn(f.tokens[auth.Viewer]),
			shot("runs"),
			chromedp.SetValue(css(`input[name=name]`), "oncology/train"),
			chromedp.Submit(css(`input[name=name]`)),
			chromedp.WaitVisible(css(`table`)),
			shot("runs-filtered"),
		); err != nil {
			t.Fatal(err)
		}
		if runs := read(t, ctx, "table"); !strings.Contains(runs, f.own) || strings.Contains(runs, f.other) {
			t.Errorf("filtered runs: %q", runs)
		}
		if err := chromedp.Do(ctx,
			chromedp.Click(css(`a[href="/ui/runs/`+f.own+`"]`)),
			chromedp.WaitVisible(css(`svg polyline`)),
			shot("run"),
		); err != nil {
			t.Fatal(err)
		}
		if detail := read(t, ctx, "main"); !strings.Contains(detail, "roc_auc") || !strings.Contains(detail, "notes") {
			t.Errorf("run page: %q", detail)
		}
		if err := chromedp.Do(ctx,
			chromedp.Navigate(srv+"/ui/runs"),
			chromedp.WaitVisible(css(`table`)),
			chromedp.Click(css(`input[value="`+f.own+`"]`)),
			chromedp.Click(css(`input[value="`+second+`"]`)),
			chromedp.Click(css(`#compare`)),
			chromedp.WaitVisible(css(`svg polyline`)),
			shot("compare"),
		); err != nil {
			t.Fatal(err)
		}
		if cmp := read(t, ctx, "main"); !strings.Contains(cmp, "Comparing 2 runs") || !strings.Contains(cmp, "depth") {
			t.Errorf("comparison: %q", cmp)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(srv+"/ui/jobs"), chromedp.WaitVisible(css(`svg rect`)), shot("jobs")); err != nil {
			t.Fatal(err)
		}
		if jobs := read(t, ctx, "main"); !strings.Contains(jobs, "queue") {
			t.Errorf("jobs page: %q", jobs)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(srv+"/ui/models/bcw"), chromedp.WaitVisible(css(`h2`)), shot("model-viewer")); err != nil {
			t.Fatal(err)
		}
		if model := read(t, ctx, "main"); strings.Contains(model, "Promote") {
			t.Error("a viewer sees the promote form")
		}
	})
	session("trainer", func(t *testing.T, ctx context.Context) {
		if err := chromedp.Do(ctx,
			signIn(f.tokens[auth.Trainer]),
			chromedp.Navigate(srv+"/ui/models/bcw"),
			chromedp.WaitVisible(css(`input[name=reason]`)),
			chromedp.SetValue(css(`input[name=version]`), "2"),
			chromedp.SetValue(css(`input[name=reason]`), "gbdt catches more"),
			chromedp.Submit(css(`input[name=reason]`)),
			chromedp.WaitVisible(css(`p.ok`)),
			shot("model-promoted"),
		); err != nil {
			t.Fatal(err)
		}
		notice, history := read(t, ctx, "p.ok"), read(t, ctx, "main")
		if !strings.Contains(notice, "now points at version 2") || !strings.Contains(history, "gbdt catches more") || !strings.Contains(history, "trainer-user") {
			t.Errorf("after promoting: %q\n%q", notice, history)
		}
	})
	t.Logf("screenshots in %s", shots)
}
