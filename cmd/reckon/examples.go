package main

import (
	"fmt"
	"io"

	"github.com/reckon-ml/reckon/examples"
	"github.com/spf13/cobra"
)

func (a *app) examplesCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "examples",
		Short: "The example pipelines and data shipped inside the binary",
	}
	var force bool
	extract := &cobra.Command{
		Use:   "extract DIR",
		Short: "Write the example pipelines and data into DIR",
		Long: `Write the examples shipped inside the binary into DIR, so their pipelines run
from anywhere without a checkout of the repository:

  DIR/tumor/pipeline.yaml                      the tumor reference pipeline
  DIR/tumor/breast_cancer_wisconsin_clean.csv  its table (CC BY 4.0, see README.md)
  DIR/tumor/breast_cancer_folds.json           the 15 shared folds
  DIR/reentry/pipeline.yaml                    the reentry reference pipeline
  DIR/forecast/pipeline.yaml                   its forecast variant (B): tracks cut before reentry
  DIR/regression/pipeline.yaml                 a regression: ridge, trees and network on a generated table

Existing files are not replaced unless --force.`,
		Example: `  reckon examples extract reckon-examples
  reckon run -f reckon-examples/tumor/pipeline.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, err := examples.Extract(args[0], force)
			if err != nil {
				return err
			}
			return a.report(struct {
				Files []string `json:"files"`
			}{paths}, func(w io.Writer) {
				for _, p := range paths {
					fmt.Fprintf(w, "wrote %s\n", p)
				}
				fmt.Fprintf(w, "next: reckon run -f %s/tumor/pipeline.yaml\n", args[0])
			})
		},
	}
	extract.Flags().BoolVar(&force, "force", false, "replace example files that exist")
	c.AddCommand(extract)
	return c
}
