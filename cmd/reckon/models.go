package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/pipeline"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/workspace"
)

func (a *app) modelsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "models",
		Short: "The model registry: versions, aliases and their history",
		Long: `Registered models have numbered versions, each tied to the run and the data
that produced it, and aliases (champion, challenger, any name) that point at
versions. Every alias move is kept in an audit log with who, when and why.

Refer to a version as NAME (the latest), NAME:VERSION or NAME@ALIAS.`,
	}
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List registered models with their latest version and aliases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ms []store.Model
			if c, err := a.remote(); err != nil {
				return err
			} else if c != nil {
				if ms, err = c.ListModels(cmd.Context()); err != nil {
					return err
				}
			} else {
				p, err := a.openWorkspace(cmd.Context())
				if err != nil {
					return err
				}
				defer p.Close()
				if ms, err = p.ListModels(cmd.Context()); err != nil {
					return err
				}
			}
			return a.report(ms, func(w io.Writer) {
				if len(ms) == 0 {
					fmt.Fprintln(w, "no registered models yet: reckon run -f examples/tumor/pipeline.yaml registers one")
					return
				}
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "model\tlatest\taliases\tcreated")
				for _, m := range ms {
					var al []string
					for _, k := range slices.Sorted(maps.Keys(m.Aliases)) {
						al = append(al, fmt.Sprintf("%s=%d", k, m.Aliases[k]))
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Name, m.Latest, orDash(strings.Join(al, " ")), m.Created.Format(time.DateTime))
				}
				tw.Flush()
			})
		},
	}

	var out string
	show := &cobra.Command{
		Use:   "show NAME[@alias|:version]",
		Short: "Show a registered version: run, data, metrics, artifact",
		Example: `  reckon models show tumor@champion
  reckon models show reentry:2 --out reentry-v2.rkm`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := registry.ParseRef(args[0])
			if err != nil {
				return err
			}
			d, file, done, err := a.describe(cmd.Context(), ref)
			if err != nil {
				return err
			}
			defer done()
			v, aliases := d.Version, d.Aliases
			if out != "" && d.Intact {
				b, err := file()
				if err != nil {
					return err
				}
				if _, err := os.Stat(out); err == nil {
					return fmt.Errorf("%s already exists; choose another --out", out)
				}
				if err := atomicfile.Write(out, b); err != nil {
					return err
				}
			}
			res := struct {
				registry.Described
				Out        string              `json:"written_to,omitempty"`
				Importance *tabular.Importance `json:"importance,omitempty"`
			}{d, out, nil}
			if d.Intact {
				if res.Importance, err = tabularImportance(registry.Label(v), file); err != nil {
					return err
				}
			}
			if !d.Intact {
				res.Out = ""
			}
			err = a.report(res, func(w io.Writer) {
				state := "verified"
				if !d.Intact {
					state = "NOT USABLE"
				}
				fmt.Fprintf(w, "%s:%d  %s  aliases: %s\nrun %s  data %s  registered %s\nartifact %s (%d bytes, sha256 %s): %s\n",
					v.Model, v.Version, v.Kind, orDash(strings.Join(aliases, ", ")), v.RunID, v.DataHash, v.Created.Format(time.DateTime), v.Artifact.Key, v.Artifact.Size, short(v.Artifact.SHA256), state)
				if v.Note != "" {
					fmt.Fprintf(w, "note: %s\n", v.Note)
				}
				if len(v.Metrics) > 0 {
					fmt.Fprintln(w, "metrics:")
					for _, k := range slices.Sorted(maps.Keys(v.Metrics)) {
						fmt.Fprintf(w, "  %s = %.6g\n", k, v.Metrics[k])
					}
				}
				printImportance(w, res.Importance, 10)
				if res.Out != "" {
					fmt.Fprintf(w, "wrote the model file to %s\n", out)
				}
			})
			if err == nil && !d.Intact {
				err = fmt.Errorf("%s: %s\n(reckon verify lists every damaged or missing blob and how to restore it)", registry.Label(v), d.Problem)
			}
			return err
		},
	}
	show.Flags().StringVar(&out, "out", "", "also write the model file here (for reckon eval)")

	history := &cobra.Command{
		Use:   "history NAME",
		Short: "Versions of a model and every alias move: who, when, why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, h, err := a.modelHistory(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			res := struct {
				Versions []store.Version   `json:"versions"`
				Moves    []store.AliasMove `json:"alias_moves"`
			}{vs, h}
			return a.report(res, func(w io.Writer) {
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "version\tkind\trun\tdata\tregistered\tnote")
				for _, v := range vs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.Version, v.Kind, v.RunID, short(v.DataHash), v.Created.Format(time.DateTime), v.Note)
				}
				tw.Flush()
				fmt.Fprintln(w, "\nalias moves:")
				tw = newTabWriter(w)
				fmt.Fprintln(tw, "when\talias\tfrom\tto\twho\twhy")
				for _, m := range h {
					from := "-"
					if m.From > 0 {
						from = fmt.Sprint(m.From)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", m.Time.Format(time.DateTime), m.Alias, from, m.To, m.Who, m.Why)
				}
				tw.Flush()
			})
		},
	}

	promote := a.newPromoteCmd(a.runPromote)
	c.AddCommand(ls, show, history, promote, a.registerCheckpointCmd())
	return c
}

// modelHistory is a model's versions and alias moves, from the server or
// the store.
func (a *app) modelHistory(ctx context.Context, name string) ([]store.Version, []store.AliasMove, error) {
	if c, err := a.remote(); err != nil || c != nil {
		if err != nil {
			return nil, nil, err
		}
		d, err := c.Model(ctx, name)
		return d.Versions, d.History, err
	}
	p, err := a.openWorkspace(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	if _, err := p.GetModel(ctx, name); err != nil {
		return nil, nil, err
	}
	vs, err := p.Versions(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	h, err := p.History(ctx, name)
	return vs, h, err
}

func (a *app) registerCheckpointCmd() *cobra.Command {
	return a.newRegisterCheckpointCmd(a.runRegisterCheckpoint)
}

func (a *app) newRegisterCheckpointCmd(runF func(context.Context, *pipeline.CheckpointRequest) error) *cobra.Command {
	req := &pipeline.CheckpointRequest{}
	c := &cobra.Command{
		Use:   "register NAME --run RUN --checkpoint EPOCH",
		Short: "Register an earlier checkpoint of a finished LSTM training run",
		Long: `Training steps store a checkpoint every checkpoint_every (one artifact per
epoch, see 'reckon runs show RUN'). This registers one of them as a new version
of NAME: the weights of that epoch, with the feature scaling fitted on the
run's own training tracks, scored on its held-out flights. Only runs that
succeeded qualify; an interrupted run is resumed with 'reckon run' instead.`,
		Example: `  reckon runs show 7b893fc674a721c8          # lists checkpoint/epoch-0030 ...
  reckon models register reentry --run 7b893fc674a721c8 --checkpoint 30 --reason "before it overfit"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Model = args[0]
			if req.RunID == "" || req.Checkpoint == "" {
				return errors.New("--run and --checkpoint are required")
			}
			if req.Alias != "" && strings.TrimSpace(req.Why) == "" {
				return errors.New("--reason is required with --alias: every alias move is audited with why")
			}
			if err := req.Check(); err != nil {
				return err
			}
			return runF(cmd.Context(), req)
		},
	}
	f := c.Flags()
	f.StringVar(&req.RunID, "run", "", "the training step's run id")
	f.StringVar(&req.Checkpoint, "checkpoint", "", "epoch number or artifact name (checkpoint/epoch-0030)")
	f.StringVar(&req.DataDir, "data", "", "the track set it trained on (default: where the run read it)")
	f.StringVar(&req.Alias, "alias", "", "also move this alias to the new version")
	f.StringVar(&req.Why, "reason", "", "why (kept in the audit log)")
	return c
}

func (a *app) runRegisterCheckpoint(ctx context.Context, req *pipeline.CheckpointRequest) error {
	p, err := a.openWorkspace(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	env := pipeline.Env{Store: p.Store, Blobs: p.Blobs, Code: workspace.CodeVersion(), User: currentUser()}
	reg, err := pipeline.RegisterCheckpoint(ctx, env, *req)
	if err != nil {
		return err
	}
	v := reg.Version
	return a.report(v, func(w io.Writer) {
		if reg.New {
			fmt.Fprintf(w, "registered %s:%d (%s); held-out rmse_s %.4f\n", v.Model, v.Version, v.Note, v.Metrics["rmse_s"])
		} else {
			fmt.Fprintf(w, "already registered as %s:%d (%s); nothing new\n", v.Model, v.Version, v.Note)
		}
		switch {
		case reg.Moved:
			fmt.Fprintf(w, "%s@%s -> %s:%d\n", v.Model, req.Alias, v.Model, v.Version)
		case req.Alias != "":
			fmt.Fprintf(w, "%s@%s is already %s:%d\n", v.Model, req.Alias, v.Model, v.Version)
		}
	})
}

// promoteOptions are models promote's argument and flags.
type promoteOptions struct {
	ref           registry.Ref
	alias, reason string
}

func (a *app) newPromoteCmd(runF func(context.Context, *promoteOptions) error) *cobra.Command {
	o := &promoteOptions{}
	c := &cobra.Command{
		Use:     "promote NAME:VERSION --alias ALIAS --reason TEXT",
		Short:   "Point an alias at a version (audited)",
		Example: `  reckon models promote tumor:3 --alias champion --reason "recall-first review on 2026-11-20"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.ref, err = registry.ParseRef(args[0]); err != nil {
				return err
			}
			if err := o.ref.Exact(); err != nil {
				return err
			}
			if o.alias == "" || strings.TrimSpace(o.reason) == "" {
				return errors.New("--alias and --reason are required: every alias move is audited with why")
			}
			return runF(cmd.Context(), o)
		},
	}
	c.Flags().StringVar(&o.alias, "alias", "", "alias to move, e.g. champion")
	c.Flags().StringVar(&o.reason, "reason", "", "why (kept in the audit log)")
	return c
}

func (a *app) runPromote(ctx context.Context, o *promoteOptions) error {
	who := currentUser()
	if c, err := a.remote(); err != nil {
		return err
	} else if c != nil {
		if err := o.ref.Exact(); err != nil {
			return err
		}
		if who, err = c.MoveAlias(ctx, o.ref.Name, o.alias, o.ref.Version, o.reason); err != nil {
			return err
		}
	} else {
		p, err := a.openWorkspace(ctx)
		if err != nil {
			return err
		}
		defer p.Close()
		if err := registry.Promote(ctx, p, o.ref, o.alias, who, o.reason); err != nil {
			return err
		}
	}
	name, ver := o.ref.Name, o.ref.Version
	res := map[string]any{"model": name, "alias": o.alias, "version": ver, "who": who, "why": o.reason}
	return a.report(res, func(w io.Writer) {
		fmt.Fprintf(w, "%s@%s -> %s:%d (%s: %s)\n", name, o.alias, name, ver, who, o.reason)
	})
}

// describe is the version ref names and a way to read its model file,
// from the server or the store; done closes what it opened.
func (a *app) describe(ctx context.Context, ref registry.Ref) (registry.Described, func() ([]byte, error), func(), error) {
	if c, err := a.remote(); err != nil || c != nil {
		if err != nil {
			return registry.Described{}, nil, nil, err
		}
		d, err := c.Version(ctx, ref.String())
		return d, func() ([]byte, error) {
			_, b, err := c.ModelFile(ctx, registry.Label(d.Version))
			return b, err
		}, func() {}, err
	}
	ws, err := a.openWorkspace(ctx)
	if err != nil {
		return registry.Described{}, nil, nil, err
	}
	d, err := registry.Describe(ctx, ws, ws.Blobs, ref)
	if err != nil {
		ws.Close()
		return d, nil, nil, err
	}
	return d, func() ([]byte, error) { return ws.Blobs.Get(ctx, d.Version.Artifact.Key) }, func() { ws.Close() }, nil
}

// tabularImportance is a tabular model's feature importance from its file
// (nil for other kinds and for a network).
func tabularImportance(name string, file func() ([]byte, error)) (*tabular.Importance, error) {
	b, err := file()
	if err != nil {
		return nil, err
	}
	a, err := model.Read(name, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	m, err := model.FromArtifact(name, a)
	if err != nil {
		return nil, err
	}
	tm, ok := m.(*tabular.Model)
	if !ok {
		return nil, nil
	}
	if imp := tm.Importance(); len(imp.Weights) > 0 {
		return &imp, nil
	}
	return nil, nil
}
