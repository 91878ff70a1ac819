package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/server"
)

func (a *app) serverCmd() *cobra.Command {
	var addr, queues, jobDir string
	c := &cobra.Command{
		Use:   "server [--addr 127.0.0.1:8080]",
		Short: "Serve the HTTP API on the store (every route behind a token: reckon tokens create)",
		Long: `Serve reckon's JSON API under /api/v1 on the store and blobs the global flags
name (the embedded SQLite store by default; --store postgres://... and --blobs
s3://... for a shared deployment). Every route needs Authorization: Bearer TOKEN
from reckon tokens create; a missing or unknown token gets 401, a token whose
role or team may not do what it asks gets 403. /api/v1/openapi.json describes
the routes. SIGTERM or Ctrl-C stops it after the requests in flight are
answered.

It serves runs (filter, sort by a metric, pages), metric series (down to at
most max_points), artifacts (checked against their digest), datasets, models
with their versions and alias history, promotion and roll-back (PUT
/api/v1/models/NAME/aliases/ALIAS with {"version": N, "reason": "..."}), model
files, online predictions (POST /api/v1/models/NAME@ALIAS/predict with
{"rows": [{"feature": value, ...}]} or a CSV body; the model stays loaded and
follows its alias within a second), drift checks (list and record), jobs
(submit, list, detail, why, logs, cancel), the queues with each team's use,
/metrics for Prometheus, whoami, /healthz and /readyz; and the web UI at /ui.

Jobs submitted through the API run in --job-dir (default: the directory the
server starts in), started by a reckon scheduler on the same store; a
pipeline is sent as its text and kept there, so its relative paths are read
from --job-dir. Such a job may run run, predict, data, train, eval, compare,
monitor, bench, plan or verify, never tokens, server or scheduler.

With --server URL and $RECKON_TOKEN, the CLI's runs, models, jobs, queues,
monitor, eval and predict (with a registered model) commands ask a server
instead of opening the store, and print the same.`,
		Example: `  reckon tokens create --user ana --team oncology --role trainer --expires 30d
  reckon server --addr 127.0.0.1:8080
  curl -H "Authorization: Bearer $RECKON_TOKEN" 'http://127.0.0.1:8080/api/v1/runs?sort=metric:roc_auc:desc&limit=5'
  curl -H "Authorization: Bearer $RECKON_TOKEN" -H 'Content-Type: text/csv' --data-binary @new.csv \
      http://127.0.0.1:8080/api/v1/models/tumor@champion/predict`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := a.openWorkspace(cmd.Context())
			if err != nil {
				return err
			}
			defer ws.Close()
			ts, ok := ws.Store.(auth.Tokens)
			if !ok {
				return errors.New("this store keeps no tokens")
			}
			l, err := (&net.ListenConfig{}).Listen(cmd.Context(), "tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.err, "reckon server on http://%s (store %s)\n", l.Addr(), a.storeName())
			q, err := a.loadQueues(queues)
			if err != nil {
				return err
			}
			x, err := a.localExecutor(0)
			if err != nil {
				return err
			}
			if jobDir == "" {
				if jobDir, err = os.Getwd(); err != nil {
					return err
				}
			}
			if jobDir, err = filepath.Abs(jobDir); err != nil {
				return err
			}
			return server.Serve(cmd.Context(), l, server.New(server.Config{Store: ws.Store, Tokens: ts, Blobs: ws.Blobs, Jobs: ws.Jobs, Queues: q, Exec: x, JobDir: jobDir, Log: a.log}))
		},
	}
	c.Flags().StringVar(&addr, "addr", envOr("RECKON_ADDR", "127.0.0.1:8080"), "address to listen on ($RECKON_ADDR)")
	c.Flags().StringVar(&jobDir, "job-dir", os.Getenv("RECKON_JOB_DIR"), "where jobs submitted through the API run and their pipelines are kept: their relative paths are read from it (default $RECKON_JOB_DIR, else the directory the server starts in)")
	c.Flags().StringVar(&queues, "queues", "", "the teams' queues file, for why a job waits (default: HOME/queues.yaml when present, else this machine shared equally)")
	return c
}

func (a *app) tokensCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "tokens",
		Short: "API tokens: create one for a user, team and role; list them; revoke one",
		Long: `A token names a user, a team and a role:
  viewer     reads the team's runs, models, jobs, queues and drift reports;
  predictor  also runs predictions;
  trainer    also submits jobs, runs pipelines, registers versions and moves aliases;
  admin      everything, on every team, and tokens.
Nobody but an admin sees another team's runs. The store keeps only a hash of
each token: the secret is printed once, by create.`,
	}
	var user, team, role, expires string
	create := &cobra.Command{
		Use:     "create --user U --team T --role admin|trainer|predictor|viewer [--expires 30d]",
		Short:   "Create a token and print its secret, once",
		Example: `  reckon tokens create --user ana --team oncology --role trainer --expires 30d`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			ttl, err := auth.ParseTTL(expires)
			if err != nil {
				return err
			}
			ts, done, err := a.tokenStore(cmd)
			if err != nil {
				return err
			}
			defer done()
			secret, t, err := auth.Issue(cmd.Context(), ts, user, team, r, ttl, time.Now())
			if err != nil {
				return err
			}
			res := struct {
				auth.Token
				Secret string `json:"secret"`
			}{t, secret}
			return a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "token %s for %s (%s of team %s)", t.ID, t.User, t.Role, t.Team)
				if !t.Expires.IsZero() {
					fmt.Fprintf(w, ", expires %s", t.Expires.Format(time.DateTime))
				}
				fmt.Fprintf(w, "\n%s\nkeep it: it is not shown again (the store keeps only its hash); send it as Authorization: Bearer TOKEN\n", secret)
			})
		},
	}
	create.Flags().StringVar(&user, "user", "", "who the token is for")
	create.Flags().StringVar(&team, "team", "", "the team whose things it acts on")
	create.Flags().StringVar(&role, "role", "", "admin, trainer, predictor or viewer")
	create.Flags().StringVar(&expires, "expires", "", "lifetime: 30d, 12h, ... (default: until revoked)")
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ts, done, err := a.tokenStore(cmd)
			if err != nil {
				return err
			}
			defer done()
			list, err := ts.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			return a.report(list, func(w io.Writer) {
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "id\tuser\tteam\trole\tcreated\texpires\trevoked")
				when := func(t time.Time) string {
					if t.IsZero() {
						return "-"
					}
					return t.UTC().Format(time.DateTime)
				}
				for _, t := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Team, t.Role, when(t.Created), when(t.Expires), when(t.Revoked))
				}
				tw.Flush()
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token: from now on it gets 401",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, done, err := a.tokenStore(cmd)
			if err != nil {
				return err
			}
			defer done()
			if err := ts.RevokeToken(cmd.Context(), args[0], time.Now()); err != nil {
				if errors.Is(err, auth.ErrUnknown) {
					return fmt.Errorf("no token %s (reckon tokens ls lists them)", args[0])
				}
				return err
			}
			fmt.Fprintf(a.out, "revoked %s\n", args[0])
			return nil
		},
	}
	c.AddCommand(create, ls, revoke)
	return c
}

func (a *app) tokenStore(cmd *cobra.Command) (auth.Tokens, func(), error) {
	ws, err := a.openWorkspace(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	ts, ok := ws.Store.(auth.Tokens)
	if !ok {
		ws.Close()
		return nil, nil, errors.New("this store keeps no tokens")
	}
	return ts, func() { ws.Close() }, nil
}

// envOr is $name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
