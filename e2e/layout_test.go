package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const module = "github.com/hushphone/hushphone/"

// TestImportRules: what each folder may import (docs/architecture.md,
// Folders), checked on every non-test package, so the graph keeps its
// direction: the wire protocol and the media code stand alone, the agent's
// side never reaches into the server, and nothing shipped uses test
// support.
func TestImportRules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-tags", "smoke", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "../...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	std := func(imp string) bool { return !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") }
	ours := func(imp, prefix string) bool { return strings.HasPrefix(imp, module+prefix) }
	rules := []struct {
		pkg  string // a folder, as a prefix of the package's path
		ok   func(imp string) bool
		says string
	}{
		{"protocol", func(imp string) bool { return std(imp) || ours(imp, "protocol") }, "it imports the standard library only"},
		{"media/", func(imp string) bool { return std(imp) || ours(imp, "media/") }, "it imports the standard library and media/ only"},
		{"payment/", func(imp string) bool {
			return std(imp) || ours(imp, "payment/") || ours(imp, "media/") || strings.HasPrefix(imp, "github.com/stripe/") ||
				strings.HasPrefix(imp, "golang.org/x/sys/")
		}, "it imports the standard library, payment/, media/, the gateways' SDKs and golang.org/x/sys (locked memory) only"},
		{"desktop/", func(imp string) bool { return !ours(imp, "server/") && !ours(imp, "payment/") }, "it never imports server/ or payment/: it speaks the protocol"},
		{"server/", func(imp string) bool { return !ours(imp, "desktop/") }, "it never imports desktop/"},
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pkg, imps := strings.TrimPrefix(f[0], module), f[1:]
		n++
		for _, imp := range imps {
			if ours(imp, "internal/testing/") && !strings.HasPrefix(pkg, "internal/testing/") && !strings.HasPrefix(pkg, "tools/") {
				t.Errorf("%s imports %s: test support is for tests and tools/ only", pkg, imp)
			}
			for _, r := range rules {
				if strings.HasPrefix(pkg, r.pkg) && !r.ok(imp) {
					t.Errorf("%s imports %s; the rule for %s: %s (docs/architecture.md)", pkg, imp, r.pkg, r.says)
				}
			}
		}
	}
	if n < 40 {
		t.Fatalf("go list gave %d packages: the check is not looking at the repository", n)
	}
}

// TestNoLongFiles: no non-test Go file is over 700 lines; a file that
// grows past it does several jobs and is split by job.
func TestNoLongFiles(t *testing.T) {
	const limit = 700
	checked := 0
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if lines := bytes.Count(b, []byte("\n")); lines > limit {
			t.Errorf("%s has %d lines: split it by job (at most %d)", path, lines, limit)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked %d Go files: not the repository", checked)
	}
}
