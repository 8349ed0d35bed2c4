//go:build race

package engine

// raceDetector: the race detector slows everything several times over, so
// on 2 cores packets reach the agent late and the time line it records has
// gaps; tests that need real-time delivery relax what depends on it (the
// run without -race checks it in full).
const raceDetector = true
