package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fileLine is how every error about the config file's content begins:
// the file and the line.
var fileLine = regexp.MustCompile(`^PATH:[0-9]+: `)

// FuzzConfigFile feeds the config file's reader any file. It never
// panics; every refusal wraps ErrBadValue and names the file (and the line,
// for a line's content); and it agrees with the environment: a file it
// takes gives the same configuration as the environment variables set to
// each key's last value, and a line whose value it refuses is refused as
// that setting's environment variable too.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"# hushphone.conf\nhttp = 0.0.0.0:8080\ndata = /var/lib/hushphone\n",
		"sip = \"127.0.0.1:5070\"\nringback=us\ntrunk-allow = 192.0.2.0/24, 127.0.0.1\nrtp-ports = 10000-20000\n",
		"gateway = generic\ngateway-url = https://pay.example/charge\ngateway-secret = /etc/hushphone/secret\nsession-ttl = 12h\nlog-level = debug\n",
		"media-ip = 192.0.2.7\npublic-ip = 203.0.113.9\ntrunk-out = sip.example.net:5060\ntrunk-from = +441632960000\n",
		"http = 1\n",
		"no equals sign\n",
		"unknown = 4242 4242 4242 4242\n",
		"ringback = uk\nringback = loud\n",
		"trunk-allow =\n",
		"data = \"\"\n",
		"rtp-ports = 65535-1024\n",
		"http = \"\n",
		strings.Repeat("#", 70000) + "\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "hushphone.conf")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := loadEnv(t, map[string]string{FileEnv: path})
		if err != nil {
			if !errors.Is(err, ErrBadValue) {
				t.Fatalf("%v: not ErrBadValue", err)
			}
			msg := strings.ReplaceAll(err.Error(), path, "PATH")
			if !fileLine.MatchString(msg) && !strings.HasPrefix(msg, ErrBadValue.Error()+": config file PATH: ") {
				t.Fatalf("%q names neither the file and line nor the file", msg)
			}
			// The line it refused: its value is refused from the
			// environment too.
			if n, ok := lineOf(msg); ok {
				if k, v, ok := lineKV(data, n); ok {
					if s, known := lookup(k); known {
						if _, err := loadEnv(t, map[string]string{s.Env: v}); err == nil && v != "" {
							t.Fatalf("line %d (%s = %q) refused from the file, taken from %s", n, k, v, s.Env)
						}
					}
				}
			}
			return
		}
		env := map[string]string{}
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := splitLine(line); ok {
				s, _ := lookup(k)
				if v == "" {
					return // the environment cannot say "empty"
				}
				env[s.Env] = v
			}
		}
		c2, err := loadEnv(t, env)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("from the file %+v, from the environment %+v %v", c, c2, err)
		}
	})
}

// loadEnv is Load with no flags and env as the environment.
func loadEnv(t *testing.T, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl := Bind(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	return fl.Load(func(k string) string { return env[k] })
}

// splitLine reads one config-file line as the reader does: ok false for
// blank lines and comments.
func splitLine(line string) (k, v string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", "", false
	}
	k, v, _ = strings.Cut(line, "=")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return k, v, true
}

// lineKV is line n (from 1) of data, split.
func lineKV(data []byte, n int) (string, string, bool) {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return "", "", false
	}
	return splitLine(lines[n-1])
}

// lineOf reads the line number from "PATH:N: ...".
func lineOf(msg string) (int, bool) {
	rest, ok := strings.CutPrefix(msg, "PATH:")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, ":")
	n, err := strconv.Atoi(num)
	return n, err == nil
}
