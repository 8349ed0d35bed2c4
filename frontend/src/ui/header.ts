// header.ts: the top bar (presence, idle time, theme, shortcuts, sign
// out) and the connection banner under it.

import type { Bridge } from "../bridge";
import type { State } from "../types";
import { banner, canTogglePresence, idleText, presenceText, type Banner } from "../model/presence";
import { shortcuts } from "../model/shortcuts";
import { h, setAttr, setDisabled, setHidden, setText, type Act } from "./dom";

export interface HeaderView {
  el: HTMLElement;
  update(state: State, now: number): void;
  tick(state: State, now: number): void;
  toggleHelp(): void;
}

export function headerView(b: Bridge, act: Act): HeaderView {
  const dot = h("span", { class: "presence-dot", "aria-hidden": "true" });
  const presLabel = h("span", {});
  const presence = h("button", { type: "button", class: "presence", "aria-pressed": "false" }, dot, presLabel);
  const idle = h("span", { class: "idle muted", "aria-live": "off" });
  const user = h("span", { class: "user muted" });
  const theme = h("select", { "aria-label": "Theme", title: "Theme" },
    h("option", { value: "system" }, "System theme"), h("option", { value: "light" }, "Light"), h("option", { value: "dark" }, "Dark"));
  const helpBtn = h("button", { type: "button", class: "ghost", "aria-expanded": "false", "aria-controls": "shortcut-help", title: "Keyboard shortcuts (Alt+/)", "aria-keyshortcuts": "Alt+/" }, "Shortcuts");
  const signOut = h("button", { type: "button", class: "ghost" }, "Sign out");
  const help = h("section", { id: "shortcut-help", class: "help card", "aria-label": "Keyboard shortcuts", hidden: true },
    h("h2", {}, "Keyboard shortcuts"),
    h("dl", {}, ...shortcuts.flatMap((s) => [h("dt", {}, h("kbd", {}, s.keys)), h("dd", {}, s.what)])),
  );
  const bannerEl = h("div", { class: "banner", role: "status", hidden: true });

  let state: State | null = null;
  let prevConn: string | undefined;
  let shown: Banner = null;
  let hideBack: ReturnType<typeof setTimeout> | null = null;

  presence.addEventListener("click", () => {
    if (!state) return;
    void act(() => b.SetPresence(state!.presence === "available" ? "away" : "available"));
  });
  theme.addEventListener("change", () => void act(() => b.SetTheme(theme.value as "light" | "dark" | "system")));
  signOut.addEventListener("click", () => void act(() => b.SignOut()));
  const toggleHelp = () => {
    const open = help.hidden;
    setHidden(help, !open);
    setAttr(helpBtn, "aria-expanded", String(open));
  };
  helpBtn.addEventListener("click", toggleHelp);

  const showBanner = (bn: Banner) => {
    shown = bn;
    setHidden(bannerEl, !bn);
    bannerEl.className = `banner ${bn?.kind ?? ""}`;
    setText(bannerEl, bn?.text ?? "");
  };

  const el = h("div", { class: "top" },
    h("header", { class: "bar" },
      h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), h("span", { class: "name" }, "Hushphone")),
      presence, idle,
      h("span", { class: "spacer" }),
      user, theme, helpBtn, signOut),
    bannerEl, help);

  return {
    el,
    toggleHelp,
    update(s, now) {
      state = s;
      const p = s.presence ?? "away";
      presence.className = `presence ${p}`;
      setText(presLabel, presenceText(p));
      setAttr(presence, "aria-pressed", String(p === "available"));
      setAttr(presence, "aria-label", `Presence: ${presenceText(p)}.${canTogglePresence(s) ? ` Switch to ${p === "available" ? "Away" : "Available"}.` : ""}`);
      setAttr(presence, "title", canTogglePresence(s) ? `Switch to ${p === "available" ? "Away" : "Available"}` : "");
      setDisabled(presence, !canTogglePresence(s));
      setText(user, s.user ?? "");
      if (theme.value !== s.theme && ["light", "dark", "system"].includes(s.theme)) theme.value = s.theme;
      const bn = banner(prevConn, s.connection, shown);
      if (bn?.kind !== shown?.kind) {
        showBanner(bn);
        if (hideBack) clearTimeout(hideBack);
        hideBack = bn?.kind === "back" ? setTimeout(() => showBanner(null), 4000) : null;
      }
      prevConn = s.connection;
      this.tick(s, now);
    },
    tick(s, now) {
      const t = idleText(s, now);
      setText(idle, t);
      setHidden(idle, !t);
    },
  };
}
