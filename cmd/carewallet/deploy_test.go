package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// knownSettings are the CAREWALLET_* variables loadConfig reads: it reads
// every one of them on each start, so recording its lookups lists them all.
func knownSettings(t *testing.T) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	if _, err := loadConfig(func(k string) string { seen[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	if len(seen) < 10 {
		t.Fatalf("loadConfig read only %v", seen)
	}
	return seen
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	return filepath.Join("..", "..", filepath.FromSlash(rel))
}

// TestSettingsDocumented: every setting is a row of README's
// configuration table.
func TestSettingsDocumented(t *testing.T) {
	readme, err := os.ReadFile(repoFile(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range knownSettings(t) {
		if !bytes.Contains(readme, []byte("| `"+name+"` |")) {
			t.Errorf("%s is not in README's configuration table", name)
		}
	}
}

// TestComposeFile loads deploy/compose.yaml with compose-go, the loader
// of Docker Compose v2 (`docker compose config` runs the same schema
// validation, interpolation and consistency checks), and checks that each
// CAREWALLET_* variable it sets is a setting, that the SMS and FCM
// settings are there, and that the files the settings point at are the
// service's secrets.
func TestComposeFile(t *testing.T) {
	known := knownSettings(t)
	path, err := filepath.Abs(repoFile(t, "deploy/compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: raw}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("carewallet", true) })
	if err != nil {
		t.Fatalf("compose file does not load: %v", err)
	}
	apps := 0
	for name, svc := range p.Services {
		set := map[string]string{}
		for k, v := range svc.Environment {
			if strings.HasPrefix(k, "CAREWALLET_") {
				set[k] = ""
				if v != nil {
					set[k] = *v
				}
			}
		}
		if len(set) == 0 {
			continue
		}
		apps++
		for k := range set {
			if !known[k] {
				t.Errorf("service %s sets %s, which is not a setting", name, k)
			}
		}
		for _, k := range []string{"CAREWALLET_MONGO_URI", "CAREWALLET_JWT_KEY_FILE", "CAREWALLET_SMS_WEBHOOK",
			"CAREWALLET_FCM_PROJECT", "CAREWALLET_FCM_CREDENTIALS"} {
			if _, ok := set[k]; !ok {
				t.Errorf("service %s does not set %s", name, k)
			}
		}
		var secrets []string
		for _, s := range svc.Secrets {
			secrets = append(secrets, "/run/secrets/"+s.Source)
			if p.Secrets[s.Source].File == "" {
				t.Errorf("service %s: secret %s has no file", name, s.Source)
			}
		}
		for _, k := range []string{"CAREWALLET_JWT_KEY_FILE", "CAREWALLET_FCM_CREDENTIALS"} {
			if !slices.Contains(secrets, set[k]) {
				t.Errorf("service %s: %s=%q is none of its secrets %v", name, k, set[k], secrets)
			}
		}
		// The settings it sets must pass the service's own validation.
		if _, err := loadConfig(func(k string) string { return set[k] }); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
	}
	if apps < 1 {
		t.Fatal("no service sets CAREWALLET_* variables")
	}
}

// TestKubernetesManifests: each CAREWALLET_* variable the manifests set is
// a setting; SMS and FCM are configured, the files the settings name are
// mounted from secrets, and the image is one a user pushes (a registry,
// a tag other than latest, an explicit pull policy).
func TestKubernetesManifests(t *testing.T) {
	known := knownSettings(t)
	files, err := filepath.Glob(repoFile(t, "deploy/k8s/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	type container struct {
		Name            string `yaml:"name"`
		Image           string `yaml:"image"`
		ImagePullPolicy string `yaml:"imagePullPolicy"`
		Env             []struct {
			Name      string         `yaml:"name"`
			Value     string         `yaml:"value"`
			ValueFrom map[string]any `yaml:"valueFrom"`
		} `yaml:"env"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	type doc struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Template struct {
				Spec struct {
					Containers []container `yaml:"containers"`
					Volumes    []struct {
						Name   string         `yaml:"name"`
						Secret map[string]any `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	deployments := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var d doc
			if err := dec.Decode(&d); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if d.Kind != "Deployment" {
				continue
			}
			deployments++
			secretVolumes := map[string]bool{}
			for _, v := range d.Spec.Template.Spec.Volumes {
				if v.Secret != nil {
					secretVolumes[v.Name] = true
				}
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				set := map[string]string{}
				for _, e := range c.Env {
					if !strings.HasPrefix(e.Name, "CAREWALLET_") {
						continue
					}
					if !known[e.Name] {
						t.Errorf("%s: container %s sets %s, which is not a setting", f, c.Name, e.Name)
					}
					set[e.Name] = e.Value
					if e.ValueFrom != nil {
						set[e.Name] = "from-secret"
					}
				}
				for _, k := range []string{"CAREWALLET_MONGO_URI", "CAREWALLET_JWT_KEY_FILE", "CAREWALLET_SMS_WEBHOOK",
					"CAREWALLET_FCM_PROJECT", "CAREWALLET_FCM_CREDENTIALS"} {
					if _, ok := set[k]; !ok {
						t.Errorf("%s: container %s does not set %s", f, c.Name, k)
					}
				}
				for _, k := range []string{"CAREWALLET_JWT_KEY_FILE", "CAREWALLET_FCM_CREDENTIALS"} {
					mounted := false
					for _, m := range c.VolumeMounts {
						if secretVolumes[m.Name] && strings.HasPrefix(set[k], strings.TrimSuffix(m.MountPath, "/")+"/") {
							mounted = true
						}
					}
					if !mounted {
						t.Errorf("%s: %s=%q is not in a volume mounted from a secret", f, k, set[k])
					}
				}
				ref := c.Image
				slash, colon := strings.Index(ref, "/"), strings.LastIndex(ref, ":")
				if slash < 0 || !strings.ContainsAny(ref[:slash], ".:") || colon < slash || ref[colon+1:] == "latest" {
					t.Errorf("%s: image %q: want REGISTRY/carewallet:TAG, a registry a user pushes to and a tag other than latest", f, ref)
				}
				if c.ImagePullPolicy != "IfNotPresent" && c.ImagePullPolicy != "Always" {
					t.Errorf("%s: imagePullPolicy %q", f, c.ImagePullPolicy)
				}
			}
		}
	}
	if deployments == 0 {
		t.Fatal("no Deployment in deploy/k8s")
	}
}

// TestDockerfileGoVersion: the build stage uses the Go version go.mod names.
func TestDockerfileGoVersion(t *testing.T) {
	mod, err := os.ReadFile(repoFile(t, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(repoFile(t, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	froms := regexp.MustCompile(`(?m)^FROM golang:([0-9][^-\s]*)`).FindAllSubmatch(df, -1)
	if want == nil || len(froms) == 0 {
		t.Fatalf("go.mod go line %q, Dockerfile golang stages %q", want, froms)
	}
	var got []string
	for _, m := range froms {
		got = append(got, string(m[1]))
	}
	sort.Strings(got)
	for _, v := range got {
		if v != string(want[1]) {
			t.Errorf("Dockerfile builds with golang:%s, go.mod says go %s", v, want[1])
		}
	}
}
