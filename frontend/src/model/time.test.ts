import { describe, expect, it } from "vitest";
import { between, clock, since, spoken } from "./time";

describe("clock", () => {
  it.each([
    [0, "00:00"], [5, "00:05"], [65, "01:05"], [599.9, "09:59"], [3599, "59:59"], [3600, "1:00:00"], [3725, "1:02:05"],
    [-4, "00:00"], [NaN, "00:00"], [Infinity, "00:00"],
  ])("%s s → %s", (s, want) => expect(clock(s)).toBe(want));
});

describe("since and between", () => {
  const t = Date.parse("2025-01-01T00:00:00Z");
  it("counts whole seconds", () => expect(since("2025-01-01T00:00:00Z", t + 61_900)).toBe(61));
  it("is 0 for null, junk or the future", () => {
    expect(since(null, t)).toBe(0);
    expect(since("nope", t)).toBe(0);
    expect(since("2025-01-01T00:01:00Z", t)).toBe(0);
  });
  it("between", () => {
    expect(between("2025-01-01T00:00:00Z", "2025-01-01T00:02:05.5Z")).toBe(125);
    expect(between("2025-01-01T00:00:00Z", null)).toBe(0);
    expect(between("x", "y")).toBe(0);
  });
  it("spoken", () => {
    expect(spoken(0)).toBe("0 seconds");
    expect(spoken(1)).toBe("1 second");
    expect(spoken(125)).toBe("2 minutes 5 seconds");
    expect(spoken(3660)).toBe("1 hour 1 minute");
  });
});
