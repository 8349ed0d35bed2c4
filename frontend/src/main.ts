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
  mount(document.getElementById("app")!, bridge());
}

void start();
