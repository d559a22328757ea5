// Command mkimage assembles courierd's OCI image from a static binary without a Docker
// daemon (`make image`): a tarball for `docker load` or `podman load`, and an OCI layout
// directory for copying to a registry. It prints the image's size.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"courierd/deploy/image"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	flags := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	binary := flags.String("binary", "bin/courierd", "the static courierd binary (CGO_ENABLED=0)")
	arch := flags.String("arch", "", "GOARCH the binary was built for; empty: this machine's")
	tarFile := flags.String("tar", "bin/courierd-image.tar", "the tarball for docker load / podman load; empty: none")
	layoutDir := flags.String("layout", "bin/courierd-oci", "the OCI layout directory; empty: none")
	repo := flags.String("name", "courierd", "the image's repository name; the tag is -version")
	version := flags.String("version", "dev", "the image's version label and tag")
	source := flags.String("source", "", "the source repository's URL, for the image's label")
	licenses := flags.String("licenses", "MIT", "the SPDX licence expression, for the image's label")
	epoch := flags.String("created", "", "the image's time as Unix seconds (SOURCE_DATE_EPOCH, the commit's time): the same inputs then give the same digest; empty: 0")
	zoneinfo := flags.String("zoneinfo", image.ZoneInfo, "the time-zone tree to copy in")
	cacerts := flags.String("cacerts", image.CACerts, "the CA bundle to copy in")
	if err := flags.Parse(args); err != nil {
		return err
	}
	var created time.Time
	if *epoch != "" {
		secs, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil || secs < 0 {
			return fmt.Errorf("-created %q: must be Unix seconds", *epoch)
		}
		created = time.Unix(secs, 0)
	} else {
		created = time.Unix(0, 0)
	}
	img, err := image.Build(image.Spec{Binary: *binary, Arch: *arch, ZoneInfo: *zoneinfo, CACerts: *cacerts,
		Version: *version, Source: *source, Licenses: *licenses, Created: created})
	if err != nil {
		return err
	}
	ref := *repo + ":" + *version
	if *tarFile != "" {
		if err := image.WriteTarball(img, *tarFile, ref); err != nil {
			return err
		}
		fmt.Printf("%s: %s (docker load -i %s)\n", ref, *tarFile, *tarFile)
	}
	if *layoutDir != "" {
		if err := image.WriteLayout(img, *layoutDir, *version); err != nil {
			return err
		}
		fmt.Printf("%s: %s (skopeo copy oci:%s:%s docker://REGISTRY/%s)\n", ref, *layoutDir, *layoutDir, *version, ref)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	compressed, unpacked, err := image.Sizes(img)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s, %.1f MiB to pull, %.1f MiB unpacked\n", ref, digest, mib(compressed), mib(unpacked))
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
