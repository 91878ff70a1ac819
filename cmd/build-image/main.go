// Command build-image writes reckon's container image as a tarball that
// docker load, podman load and crane accept, without a Docker daemon (see
// package oci). scripts/build-image runs it on a release build.
//
//	go run ./cmd/build-image --binary dist/reckon --out dist/reckon-image.tar
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/reckon-ml/reckon/oci"
)

func main() {
	var c oci.Config
	out := flag.String("out", "", "the image tarball to write")
	rootfs := flag.String("rootfs", "", "instead of a tarball, write the image's files into this new directory (the Dockerfile does)")
	flag.StringVar(&c.Binary, "binary", "dist/reckon", "the static reckon binary (scripts/build-release)")
	flag.StringVar(&c.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "the CA certificate bundle the image trusts")
	flag.StringVar(&c.Repository, "repository", "reckon", "the image's name in the tarball: REPOSITORY:VERSION")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: build-image --out OUT.tar | --rootfs DIR [--binary dist/reckon] [--ca-certs PEM] [--repository NAME]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if (*out == "") == (*rootfs == "") || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *rootfs != "" {
		if err := oci.WriteRootfs(c, *rootfs); err != nil {
			fmt.Fprintln(os.Stderr, "build-image:", err)
			os.Exit(1)
		}
		return
	}
	im, err := oci.Build(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-image:", err)
		os.Exit(1)
	}
	d, err := im.Write(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-image:", err)
		os.Exit(1)
	}
	size, err := oci.CompressedSize(im.Image)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-image:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %s, digest %s, %.1f MB compressed (layers and config)\n", *out, im.Ref, d, float64(size)/1e6)
}
