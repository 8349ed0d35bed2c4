package tsgen

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func generate(t *testing.T, src string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte("package p\n\n"+src), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Generate(dir)
	return string(b), err
}

func TestGenerate(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // each must be in the output
		not       []string // none may be
	}{
		{
			name: "struct fields",
			src: "import \"time\"\n\n// T is a thing.\ntype T struct {\n\tA string `json:\"a\"`\n\tB int `json:\"b,omitempty\"` // bee\n" +
				"\tC *U `json:\"c\"`\n\tD []U `json:\"d,omitzero\"`\n\tE time.Time `json:\"e\"`\n\tF []string `json:\"f\"`\n" +
				"\tG string `json:\"-\"`\n\tH string `json:\"h\" ts:\"U | \\\"x\\\"\"`\n}\n\n// U is another.\ntype U struct {\n\tX bool `json:\"x\"`\n}\n",
			want: []string{"/** T is a thing. */\nexport interface T {\n", "  a: string;\n", "  /** bee */\n  b?: number;\n", "  c: U | null;\n",
				"  d?: U[];\n", "  e: string;\n", "  f: string[] | null;\n", "  h: U | \"x\";\n", "export interface U {\n  x: boolean;\n}\n"},
			not: []string{"G", "g:"},
		},
		{
			name: "enums and constants",
			src: "// K is a kind.\ntype K string\n\nconst (\n\tKA K = \"a\" // the first\n\tKB K = \"b\\\"\"\n\tka K = \"hidden\"\n)\n\n" +
				"// N is a number.\ntype N int\n\nconst NOne N = 1\n\n// Max is the most.\nconst Max = 64 << 10\n",
			want: []string{"export type K =\n  | \"a\"\n  | \"b\\\"\";\n", "export const K = {\n  /** the first */\n  KA: \"a\",\n  KB: \"b\\\"\",\n} as const satisfies Record<string, K>;\n",
				"export type N =\n  | 1;\n", "/** Max is the most. */\nexport const Max = 65536;\n"},
			not: []string{"hidden"},
		},
		{
			name: "not the wire",
			src:  "// E is an error.\ntype E struct{ Code, Message string }\n\nfunc (e *E) Error() string { return e.Code }\n\ntype hidden struct {\n\tA string `json:\"a\"`\n}\n",
			not:  []string{"interface E", "hidden"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := generate(t, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, Header+"\n") {
				t.Errorf("no header:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing\n%s\nin\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("%q in\n%s", n, out)
				}
			}
		})
	}
}

func TestGenerateRefuses(t *testing.T) {
	for _, src := range []string{
		"type T struct {\n\tA map[string]int `json:\"a\"`\n}\n",
		"type T struct {\n\tA other `json:\"a\"`\n}\n",
		"type K int\n\nconst (\n\tA K = iota\n\tB\n)\n",
		"type F func()\n",
	} {
		if _, err := generate(t, src); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v, want ErrUnsupported", src, err)
		}
	}
}
