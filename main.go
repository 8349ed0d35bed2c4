// Command hushphone is the desktop agent app: a Wails v2 window whose UI
// (frontend/, TypeScript) drives the Go side (desktop/app: the agent
// engine, the sound devices). Build it with build/desktop.sh (npm ci, the
// UI, then go build -tags desktop,production,webkit2_41), or `wails build`
// where the Wails CLI works.
//
// Environment: HUSHPHONE_NULL_DEVICES=1 uses no sound card (malgo's null
// devices); HUSHPHONE_CONFIG_DIR moves the remembered settings and call
// history (default: the user's config folder). A binary built with the
// smoke tag (build/desktop-smoke.sh builds one) runs the smoke test with
// HUSHPHONE_SMOKE=1 (smoke.go); the shipped app has no smoke run.
package main

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/hushphone/hushphone/desktop/app"
	"github.com/hushphone/hushphone/frontend"
)

// The window's size (the smoke run's screen is made to fit it).
const (
	width  = 1120
	height = 760
)

// icon is the window's icon (build/appicon.png, also what `wails build`
// takes for the packages' icons).
//
//go:embed build/appicon.png
var icon []byte

// notBuilt is the window's page when the binary was built without the UI.
const notBuilt = `<!doctype html><meta charset="utf-8"><title>Hushphone</title>
<body style="font:16px sans-serif;margin:3em">
<h1>The UI is not built</h1><p>Build the app with <code>build/desktop.sh</code>, which builds the UI first.</p>`

// smokeRun is the smoke run's side of the app (smoke.go, built only with
// the smoke tag): it drives the app through a call and a payment.
type smokeRun interface {
	state(st app.State)
	uiReady()
	begin(a *app.App, quit func())
	exitCode() int
}

// newSmokeRun starts a smoke run; nil unless built with the smoke tag.
var newSmokeRun func(start time.Time) smokeRun

func main() {
	os.Exit(run())
}

func run() int {
	start := time.Now()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var sm smokeRun
	if newSmokeRun != nil && os.Getenv("HUSHPHONE_SMOKE") == "1" {
		sm = newSmokeRun(start)
	}
	opts := app.Options{
		ConfigDir:   os.Getenv("HUSHPHONE_CONFIG_DIR"),
		NullDevices: sm != nil || os.Getenv("HUSHPHONE_NULL_DEVICES") == "1",
		Logger:      log,
	}
	if sm != nil {
		opts.OnState, opts.OnUIReady = sm.state, sm.uiReady
	}
	a, err := app.New(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hushphone: %v\n", err)
		return 1
	}
	dist, err := fs.Sub(frontend.Dist, "dist")
	if err != nil {
		fmt.Fprintf(os.Stderr, "hushphone: the UI: %v\n", err)
		return 1
	}
	assets := &assetserver.Options{Assets: dist}
	if _, err := fs.Stat(dist, "index.html"); err != nil {
		// Built without the UI (go build without build/desktop.sh).
		assets = &assetserver.Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(notBuilt))
		})}
	}
	err = wails.Run(&options.App{
		Title:            "Hushphone",
		Width:            width,
		Height:           height,
		MinWidth:         880,
		MinHeight:        600,
		BackgroundColour: &options.RGBA{R: 246, G: 247, B: 249, A: 255},
		AssetServer:      assets,
		OnStartup: func(ctx context.Context) {
			a.SetEmitter(func(name string, data any) { runtime.EventsEmit(ctx, name, data) })
			if sm != nil {
				runtime.WindowSetPosition(ctx, 0, 0)
				sm.begin(a, func() { runtime.Quit(ctx) })
			}
		},
		OnShutdown: func(context.Context) { a.Close() },
		// The UI is a few panels of text: software drawing keeps the web
		// view small and works on any machine (and under Xvfb).
		Linux: &linux.Options{WebviewGpuPolicy: linux.WebviewGpuPolicyNever, ProgramName: "hushphone", Icon: icon},
		Bind:  []any{a},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "hushphone: %v\n", err)
		return 1
	}
	if sm != nil {
		return sm.exitCode()
	}
	return 0
}
