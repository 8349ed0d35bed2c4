import { describe, expect, it } from "vitest";
import { match, shortcutFor, shortcuts } from "./shortcuts";

const k = (code: string, mods: Partial<{ altKey: boolean; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }> = {}) =>
  ({ code, altKey: true, ctrlKey: false, metaKey: false, shiftKey: false, ...mods });

describe("shortcuts", () => {
  it("Alt+letter", () => {
    expect(match(k("KeyA"))).toBe("answer");
    expect(match(k("KeyD"))).toBe("decline");
    expect(match(k("KeyH"))).toBe("hangup");
    expect(match(k("KeyM"))).toBe("mute");
    expect(match(k("KeyO"))).toBe("hold");
    expect(match(k("Slash"))).toBe("help");
  });
  it("needs Alt alone", () => {
    expect(match(k("KeyA", { altKey: false }))).toBeNull();
    expect(match(k("KeyA", { ctrlKey: true }))).toBeNull();
    expect(match(k("KeyA", { metaKey: true }))).toBeNull();
    expect(match(k("KeyZ"))).toBeNull();
  });
  it("table is unique", () => {
    expect(new Set(shortcuts.map((s) => s.code)).size).toBe(shortcuts.length);
    expect(shortcutFor("hangup").keys).toBe("Alt+H");
  });
});
