package queues

import (
	"context"
	"testing"

	"github.com/hushphone/hushphone/server/store"
)

type fixed []store.Queue

func (f fixed) ListQueues(context.Context) ([]store.Queue, error) { return f, nil }

// TestDirectory: numbers to queues, and who takes a queue's calls: its
// members; for the default queue, its members and every agent in no
// queue. Names are matched regardless of case.
func TestDirectory(t *testing.T) {
	d, err := New(context.Background(), fixed{
		{Name: store.DefaultQueue, Members: []string{"Carl"}},
		{Name: "sales", Number: "2000", Members: []string{"bob", "Carl"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for number, want := range map[string]string{"2000": "sales", "hushphone": store.DefaultQueue, "": store.DefaultQueue} {
		if got := d.QueueFor(number); got != want {
			t.Errorf("QueueFor(%q) = %q, want %q", number, got, want)
		}
	}
	for _, c := range []struct {
		agent, queue string
		want         bool
	}{
		{"bob", "sales", true}, {"BOB", "SALES", true}, {"carl", "sales", true}, {"ann", "sales", false},
		{"ann", store.DefaultQueue, true},  // in no queue
		{"bob", store.DefaultQueue, false}, // in sales only
		{"carl", store.DefaultQueue, true}, // made a member of default
	} {
		if got := d.Member(c.agent, c.queue); got != c.want {
			t.Errorf("Member(%s, %s) = %v, want %v", c.agent, c.queue, got, c.want)
		}
	}
	var zero Directory
	if zero.QueueFor("2000") != store.DefaultQueue || !zero.Member("anyone", store.DefaultQueue) {
		t.Error("the zero Directory: every call to the default queue, every agent its member")
	}
}
