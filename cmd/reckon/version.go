package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/release"
)

// version may be set at link time (-ldflags "-X main.version=v1.2.3");
// otherwise it is the one the go command stamps from the checkout: the
// tag on the commit, or a pseudo-version of it.
var version = "dev"

// buildVersion describes the running binary.
func buildVersion() release.Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return release.Info{Version: version, Commit: "unknown"}
	}
	return release.Describe(bi, version)
}

func (a *app) versionCmd() *cobra.Command {
	var sbom bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print reckon's version, commit, build time and modules, or its SBOM",
		Long: `Print what this binary is: its version, the commit it was built from and
that commit's time (a release build takes its time from the commit, so two
builds of one commit are byte-identical), the Go version and platform.
--json adds the build flags and every module linked in, with its go.sum
hash; --sbom prints a CycloneDX 1.5 JSON software bill of materials of the
same modules.`,
		Example: `  reckon version
  reckon version --json | jq -r .commit
  reckon version --sbom > reckon.cdx.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, ok := debug.ReadBuildInfo()
			if !ok {
				return errors.New("this binary carries no build information")
			}
			if sbom {
				b, err := release.SBOM(bi, version)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			v := release.Describe(bi, version)
			if v.Platform == "" { // this binary runs where it was built for
				v.Platform = runtime.GOOS + "/" + runtime.GOARCH
			}
			return a.report(v, func(w io.Writer) {
				dirty := ""
				if v.Modified {
					dirty = " (modified)"
				}
				fmt.Fprintf(w, "reckon %s\ncommit %s%s\n", v.Version, v.Commit, dirty)
				if v.BuildTime != "" {
					fmt.Fprintf(w, "built from the commit of %s\n", v.BuildTime)
				}
				fmt.Fprintf(w, "%s %s, %d modules (--json lists them, --sbom as CycloneDX)\n", v.Go, v.Platform, len(v.Modules))
			})
		},
	}
	cmd.Flags().BoolVar(&sbom, "sbom", false, "print a CycloneDX 1.5 JSON SBOM of the modules linked in")
	return cmd
}
