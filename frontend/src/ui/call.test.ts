// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { FakeBridge } from "../fake";
import { call, state, T0 } from "../model/fixtures";
import type { SupervisorHeard } from "../types";
import { callCard } from "./call";

// heard is the call with supervisors heard on it (desktop/app's
// Call.Supervisors).
const heard = (supervisors: SupervisorHeard[]) => ({ ...call(), supervisors });

describe("call card: supervisors heard", () => {
  it("says who whispers or barged in a polite live region, and clears it", () => {
    const card = callCard(new FakeBridge(), async (p) => { await p(); });
    document.body.replaceChildren(card.el);
    const region = document.querySelector<HTMLElement>("#call-supervisors")!;
    expect(region.getAttribute("aria-live")).toBe("polite");
    expect(region.getAttribute("role")).toBe("status");

    card.update(state({ call: call() }), T0);
    expect(region.textContent).toBe("");
    card.update(state({ call: heard([{ user: "Sue", mode: "whisper" }]) }), T0);
    expect(region.textContent).toBe("Sue is whispering");
    card.update(state({ call: heard([{ user: "Sue", mode: "barge" }]) }), T0);
    expect(region.textContent).toBe("Sue has joined the call (barge)");
    card.update(state({ call: heard([]) }), T0);
    expect(region.textContent).toBe("");
    // The region stays in the page between calls, empty.
    card.update(state(), T0);
    expect(document.querySelector("#call-supervisors")?.textContent).toBe("");
  });
});
