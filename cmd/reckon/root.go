package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// app is the state shared by all commands: global flags and the streams.
type app struct {
	home       string
	logLevel   string
	logFormat  string
	json       bool
	storeFlag  string
	server     string // --server: ask this reckon server
	blobsFlag  string
	staleAfter time.Duration
	maxLine    int

	out, err io.Writer
	log      *slog.Logger
}

// exitCode lets a command choose a non-zero status without printing twice.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{out: stdout, err: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	if errors.Is(err, context.Canceled) {
		if err == context.Canceled {
			fmt.Fprintln(stderr, "reckon: interrupted")
		} else {
			fmt.Fprintf(stderr, "reckon: interrupted: %v\n", err)
		}
		return 130
	}
	if errors.Is(err, store.ErrNotFound) && a.home != "" {
		fmt.Fprintf(stderr, "reckon: %v\n(searched the store %s; --home, --store or $RECKON_HOME choose another)\n", err, a.storeName())
		return 1
	}
	fmt.Fprintf(stderr, "reckon: %v\n", err)
	return 1
}

// defaultHome is where reckon keeps its store and blobs when --home is not
// given: $RECKON_HOME; else ./.reckon when the current directory holds
// one (the default of earlier releases, so their stores stay found, with a
// note); else the user's data directory, the same from every directory.
func defaultHome() (home, note string) {
	if h := os.Getenv("RECKON_HOME"); h != "" {
		return h, ""
	}
	if _, err := os.Stat(filepath.Join(".reckon", "reckon.db")); err == nil {
		return ".reckon", "using the store in ./.reckon found in this directory (the default is now " + userHome() + "; pass --home or set $RECKON_HOME to choose)"
	}
	return userHome(), ""
}

// userHome is $XDG_DATA_HOME/reckon, else ~/.local/share/reckon.
func userHome() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "reckon")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "reckon")
	}
	return ".reckon"
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "reckon",
		Short: "From raw data to monitored batch predictions, in one binary",
		Long: `reckon takes a machine-learning model from raw data to batch predictions:
generate data or read your CSV tables and tracks, engineer features, train,
evaluate, compare, register and predict in bulk, every run tracked.

Start with the demo, which needs no setup and no data:

  reckon demo

Then run the example pipelines (shipped inside the binary), look at data,
and predict with the champion they registered:

  reckon examples extract reckon-examples
  reckon run -f reckon-examples/tumor/pipeline.yaml
  reckon data inspect reckon-examples/tumor/breast_cancer_wisconsin_clean.csv
  reckon predict --model tumor@champion --out-dir preds \
      --data reckon-examples/tumor/breast_cancer_wisconsin_clean.csv
  reckon models history tumor
  reckon runs ls --sort metric:roc_auc:desc

The store and blobs live in $RECKON_HOME (default ` + "`" + `~/.local/share/reckon` + "`" + `);
--home, --store and --blobs choose others.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.setupLog(); err != nil {
				return err
			}
			if a.home == "" {
				var note string
				a.home, note = defaultHome()
				if note != "" {
					a.log.Info(note)
				}
			}
			if a.maxLine <= 0 {
				return fmt.Errorf("--max-line-bytes %d: want a positive number of bytes", a.maxLine)
			}
			dataset.DefaultLimits.MaxLine = a.maxLine
			return nil
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.home, "home", "", "reckon's working directory, holding the store and blobs unless --store/--blobs say otherwise (default $RECKON_HOME, else "+userHome()+")")
	f.IntVar(&a.maxLine, "max-line-bytes", dataset.DefaultLimits.MaxLine, "longest line an input file may have: a guard against reading a file that is not a table")
	f.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&a.logFormat, "log-format", "text", "log format on stderr: text or json")
	f.BoolVar(&a.json, "json", false, "print the result as one JSON object on stdout")
	f.StringVar(&a.server, "server", os.Getenv("RECKON_SERVER"), "a reckon server to ask instead of opening the store, with the token in $RECKON_TOKEN (runs, models, jobs, queues, monitor, eval and predict with a registered model) ($RECKON_SERVER)")
	f.StringVar(&a.storeFlag, "store", os.Getenv("RECKON_STORE"), "tracking store: a SQLite file (default HOME/reckon.db) or postgres://user:pass@host/db ($RECKON_STORE)")
	f.StringVar(&a.blobsFlag, "blobs", os.Getenv("RECKON_BLOBS"), "artifact storage: a directory (default HOME/blobs) or s3://bucket?endpoint=...&region=...&use_path_style=true ($RECKON_BLOBS)")
	f.DurationVar(&a.staleAfter, "stale-after", time.Minute, "a running run without a heartbeat for this long is marked interrupted (runs beat every 5 s)")

	root.AddCommand(a.versionCmd(), a.dataCmd(), a.trainCmd(), a.evalCmd(), a.compareCmd(), a.demoCmd(), a.benchCmd(), a.runCmd(), a.runsCmd(), a.modelsCmd(), a.predictCmd(), a.verifyCmd(), a.examplesCmd(), a.planCmd(), a.queuesCmd(), a.monitorCmd(), a.jobsCmd(), a.schedulerCmd(), a.execAttemptCmd(), a.serverCmd(), a.tokensCmd())
	return root
}

func (a *app) setupLog() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.err, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.err, opts))
	default:
		return fmt.Errorf("--log-format: %q is not text or json", a.logFormat)
	}
	return nil
}

// report prints v as one JSON object with --json, otherwise calls human.
func (a *app) report(v any, human func(w io.Writer)) error {
	if a.json {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	human(a.out)
	return nil
}

// progressOut is where progress bars go: stderr, unless the user asked for
// quiet logs.
func (a *app) progressOut() io.Writer {
	if strings.EqualFold(a.logLevel, "error") {
		return nil
	}
	return a.err
}

// homePath joins parts under --home.
func (a *app) homePath(parts ...string) string {
	return filepath.Join(append([]string{a.home}, parts...)...)
}

// aliases lets a command accept older spellings of its flags: the flag set
// normalises each name through the table before parsing and lookups.
func aliases(table map[string]string) func(*pflag.FlagSet, string) pflag.NormalizedName {
	return func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if n, ok := table[name]; ok {
			name = n
		}
		return pflag.NormalizedName(name)
	}
}
