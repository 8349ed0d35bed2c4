// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { rows } from "./table";

interface Item {
  id: string;
  text: string;
}

// table makes a body of rows keyed by id, counting the rows made, filled
// and moved (insertBefore on the body).
function table() {
  const body = document.createElement("tbody");
  const count = { made: 0, filled: 0, moved: 0 };
  const insert = body.insertBefore.bind(body);
  body.insertBefore = <T extends Node>(n: T, ref: Node | null): T => {
    count.moved++;
    return insert(n, ref);
  };
  const list = rows<Item>(body, (it) => it.id, (it) => {
    count.made++;
    const tr = document.createElement("tr");
    tr.dataset.id = it.id;
    return tr;
  }, (tr, it) => {
    count.filled++;
    tr.textContent = it.text;
  });
  const ids = () => [...body.children].map((tr) => (tr as HTMLElement).dataset.id);
  return { body, list, count, ids };
}

const items = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ id: `c${from + i}`, text: `call ${from + i}` }));

describe("rows", () => {
  it("holds exactly the items, in their order", () => {
    const t = table();
    t.list.sync(items(0, 5));
    expect(t.ids()).toEqual(["c0", "c1", "c2", "c3", "c4"]);
    t.list.sync([...items(3, 5), ...items(0, 2), ...items(7, 8)]);
    expect(t.ids()).toEqual(["c3", "c4", "c0", "c1", "c7"]);
    expect([...t.list.keys()].sort()).toEqual(["c0", "c1", "c3", "c4", "c7"]);
  });

  it("moves no row when the first goes and one comes at the end", () => {
    // 500 callers waiting, the oldest gives up and a new one arrives: with
    // the old row still first while the others were placed, every row was
    // moved below it (the whole table laid out again).
    const t = table();
    t.list.sync(items(0, 500));
    t.count.moved = 0;
    t.list.sync(items(1, 501));
    expect(t.ids()).toEqual(items(1, 501).map((it) => it.id));
    expect(t.count.moved).toBe(1); // the new row, appended
  });

  it("fills the new rows, and the others only where refill says so", () => {
    const t = table();
    t.list.sync(items(0, 3));
    expect(t.count).toMatchObject({ made: 3, filled: 3 });
    const next = items(0, 4);
    next[1].text = "changed";
    t.list.sync(next, (k) => k === "c1");
    expect(t.count).toMatchObject({ made: 4, filled: 5 });
    expect(t.list.row("c1")?.textContent).toBe("changed");
    t.list.sync(next);
    expect(t.count.filled).toBe(9); // without refill, every row
  });
});
