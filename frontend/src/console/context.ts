// context.ts: what the views share: who is signed in, the live state, the
// connection, today's figures and the queues, and the page's voices (the
// polite live region and the error toast).

import { blob, save, type Me, type Queue, type Stats } from "./api";
import type { Listener } from "./listen";
import type { Change, Live, Msg } from "./state";

export interface Ctx {
  me: Me;
  live: Live;
  listener: Listener;
  stats: Stats | null;
  queues: Queue[];
  send(m: Msg): boolean;
  /** announce says a change to screen readers (aria-live polite). */
  announce(text: string): void;
  /** toast shows an error (role=alert). */
  toast(text: string): void;
  /** notice shows news that is no error, in the same place, calmly
   * (role=status). */
  notice(text: string): void;
}

export interface View {
  name: string;
  title: string;
  el: HTMLElement;
  /** shown: the view became the current one (load what it lists). */
  shown?(): void;
  /** changed: the live state changed. */
  changed?(ch: Change): void;
  /** figures: today's figures or the queues were reloaded. */
  figures?(): void;
  /** tick: once a second, for the clocks. */
  tick?(now: number): void;
  /** listening: the listener's call or mode changed. */
  listening?(): void;
}

/** actor returns what an admin page does for each change it makes: run f
 * (an API call), then say what was done (in the polite live region) and
 * load the list again; on an error, show the API's words. It resolves to
 * whether f worked. */
export function actor(ctx: Ctx, load: () => Promise<void>): (what: string, f: () => Promise<unknown>) => Promise<boolean> {
  return async (what, f) => {
    try {
      await f();
      ctx.announce(what);
      await load();
      return true;
    } catch (e) {
      ctx.toast((e as Error).message);
      return false;
    }
  };
}

/** download fetches path (with the session's token) and saves it as the
 * server names it, or as name; button is disabled meanwhile. It resolves
 * to whether it worked; an error shows in the toast. */
export async function download(ctx: Ctx, button: HTMLButtonElement, path: string, accept: string, name: string): Promise<boolean> {
  button.disabled = true;
  try {
    const f = await blob(path, accept);
    save(f.blob, f.filename || name);
    return true;
  } catch (e) {
    ctx.toast((e as Error).message);
    return false;
  } finally {
    button.disabled = false;
  }
}
