package app

import (
	"slices"

	"github.com/hushphone/hushphone/desktop/engine"
)

// maxSupervisors bounds the supervisors shown on a call: the server lets
// 8 listen to one call, and a server that names more is not believed.
const maxSupervisors = 8

// supervisor follows a supervisor starting to whisper or barge on the
// agent's call, or stopping (e.Mode empty), for the call card (a.mu
// held). The slice is made anew, never changed in place: the UI's
// snapshots share it.
func (a *App) supervisor(e engine.Event) {
	c := a.st.Call
	if c == nil || c.ID != e.Call || c.State == CallEnded || e.User == "" {
		return
	}
	list := slices.DeleteFunc(slices.Clone(c.Supervisors), func(s Supervisor) bool { return s.User == e.User })
	if e.Mode.Heard() && len(list) < maxSupervisors {
		list = append(list, Supervisor{User: e.User, Mode: e.Mode})
	}
	if len(list) == 0 {
		list = nil
	}
	c.Supervisors = list
}
