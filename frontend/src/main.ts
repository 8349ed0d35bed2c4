// main.ts: the entry. Inside the app it talks to Go; opened in a plain
// browser (no window.go) it runs on a demo fake so the UI can be seen.

import "./style.css";
import { bridge, setBridge, wailsBridge } from "./bridge";
import { mount } from "./ui/app";

async function start() {
  if (!wailsBridge()) {
    const { demoBridge } = await import("./demo");
    setBridge(demoBridge());
  }
  const b = bridge();
  mount(document.getElementById("app")!, b);
  // The first view is on screen after the next frame: say so (Go times
  // the start-up to here).
  requestAnimationFrame(() => requestAnimationFrame(() => void b.UIReady?.().catch(() => {})));
}

void start();
