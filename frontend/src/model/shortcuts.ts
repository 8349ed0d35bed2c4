// shortcuts.ts: the keyboard shortcuts, as a table the UI shows and a
// matcher it runs on keydown. Alt+letter by physical key (event.code), so
// they work whatever the layout does to Alt.

export type Action = "answer" | "decline" | "hangup" | "mute" | "hold" | "help";

export interface Shortcut {
  action: Action;
  code: string;
  keys: string;
  /** aria is the aria-keyshortcuts value. */
  aria: string;
  what: string;
}

export const shortcuts: Shortcut[] = [
  { action: "answer", code: "KeyA", keys: "Alt+A", aria: "Alt+A", what: "Answer a ringing call" },
  { action: "decline", code: "KeyD", keys: "Alt+D", aria: "Alt+D", what: "Decline a ringing call" },
  { action: "hangup", code: "KeyH", keys: "Alt+H", aria: "Alt+H", what: "Hang up" },
  { action: "mute", code: "KeyM", keys: "Alt+M", aria: "Alt+M", what: "Mute or unmute" },
  { action: "hold", code: "KeyO", keys: "Alt+O", aria: "Alt+O", what: "Hold or resume" },
  { action: "help", code: "Slash", keys: "Alt+/", aria: "Alt+/", what: "Show these shortcuts" },
];

export interface KeyLike {
  code: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}

/** match returns the action for a key event, or null. */
export function match(e: KeyLike): Action | null {
  if (!e.altKey || e.ctrlKey || e.metaKey) return null;
  const s = shortcuts.find((x) => x.code === e.code);
  return s ? s.action : null;
}

export function shortcutFor(a: Action): Shortcut {
  return shortcuts.find((s) => s.action === a)!;
}
