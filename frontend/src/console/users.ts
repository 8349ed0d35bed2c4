// users.ts (admins): add users, disable and enable them, reset their
// password, change their role, enrol and reset their second factor,
// remove them: /api/v1/users. A new password or second factor is shown
// once, here, and never again.

import { h } from "../ui/dom";
import { json, type MFAEnrolled, type Role, type User } from "./api";
import { actor, type Ctx, type View } from "./context";
import { randomPassword, when } from "./format";

const roles: Role[] = ["agent", "supervisor", "admin"];

/** confirmClick: a destructive button acts on its second click within 5 s
 * (the first arms it and says so), so no dialog box is needed. */
export function confirmClick(b: HTMLButtonElement, armed: string, act: () => void): void {
  const label = b.textContent ?? "";
  let timer: ReturnType<typeof setTimeout> | null = null;
  b.addEventListener("click", () => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
      b.textContent = label;
      b.classList.remove("danger");
      act();
      return;
    }
    b.textContent = armed;
    b.classList.add("danger");
    timer = setTimeout(() => {
      timer = null;
      b.textContent = label;
      b.classList.remove("danger");
    }, 5000);
  });
}

export function usersView(ctx: Ctx): View {
  const name = h("input", { id: "user-name", name: "name", type: "text", required: true, autocomplete: "off", spellcheck: "false", maxlength: "64" });
  const role = h("select", { id: "user-role", name: "role" }, ...roles.map((r) => h("option", { value: r }, r)));
  const password = h("input", { id: "user-password", name: "password", type: "password", required: true, autocomplete: "new-password", minlength: "8", maxlength: "1024" });
  const form = h("form", { id: "user-add", class: "filters", "aria-label": "Add a user" },
    h("div", { class: "fld" }, h("label", { for: "user-name" }, "Name"), name),
    h("div", { class: "fld" }, h("label", { for: "user-role" }, "Role"), role),
    h("div", { class: "fld" }, h("label", { for: "user-password" }, "Password (8 or more characters)"), password),
    h("div", { class: "fld end" }, h("button", { type: "submit", class: "primary" }, "Add user")),
  );
  const secret = h("div", { class: "secret card", role: "status", hidden: true });
  const body = h("tbody");
  const el = h("section", { "data-view": "users", "aria-labelledby": "users-title", class: "view" },
    h("div", { class: "view-head" }, h("h2", { id: "users-title" }, "Users")),
    form, secret,
    h("div", { class: "scroll" }, h("table", { class: "tbl", "aria-labelledby": "users-title" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, "Second factor"), h("th", { scope: "col" }, "Added"), h("th", { scope: "col" }, "Actions"),
      )), body)),
  );

  /** showOnce shows a secret for the admin to hand over; dismissed, it is gone. */
  function showOnce(title: string, ...lines: (string | HTMLElement)[]): void {
    const done = h("button", { type: "button" }, "Done: hide it");
    done.addEventListener("click", () => {
      secret.replaceChildren();
      secret.hidden = true;
    });
    secret.replaceChildren(h("h3", {}, title), ...lines.map((l) => (typeof l === "string" ? h("p", {}, l) : l)),
      h("p", { class: "muted small" }, "Shown this once: hand it to the user privately."), done);
    secret.hidden = false;
    done.focus();
  }

  const act = actor(ctx, load);

  const path = (u: User) => `/api/v1/users/${encodeURIComponent(u.name)}`;

  function row(u: User): HTMLTableRowElement {
    const self = u.name.toLowerCase() === ctx.me.name.toLowerCase();
    const sel = h("select", { "data-field": "role", "aria-label": `Role of ${u.name}`, disabled: self }, ...roles.map((r) => h("option", { value: r, selected: r === u.role }, r)));
    sel.addEventListener("change", () => void act(`${u.name} is now ${sel.value}`, () => json("PATCH", path(u), { role: sel.value })).then((ok) => {
      if (!ok) sel.value = u.role;
    }));
    const btn = (action: string, label: string) => h("button", { type: "button", class: "small", "data-action": action, "aria-label": `${label}: ${u.name}` }, label);
    const toggle = u.disabled ? btn("enable", "Enable") : btn("disable", "Disable");
    toggle.disabled = self;
    toggle.addEventListener("click", () => void act(`${u.name} ${u.disabled ? "enabled" : "disabled"}`, () => json("PATCH", path(u), { disabled: !u.disabled })));
    const reset = btn("reset-password", "Reset password");
    confirmClick(reset, "Confirm reset", () => {
      const pw = randomPassword();
      void act(`New password set for ${u.name}`, () => json("PATCH", path(u), { password: pw })).then((ok) => {
        if (ok) showOnce(`New password for ${u.name}`, h("p", {}, h("code", { class: "copy" }, pw)));
      });
    });
    const mfa = u.mfa ? btn("reset-mfa", "Reset MFA") : btn("enrol-mfa", "Enrol MFA");
    if (u.mfa) confirmClick(mfa, "Confirm reset", () => void act(`Second factor of ${u.name} reset`, () => json("DELETE", `${path(u)}/mfa`)));
    else mfa.addEventListener("click", () => void enrol(u));
    const remove = btn("remove", "Remove");
    remove.disabled = self;
    confirmClick(remove, "Confirm remove", () => void act(`${u.name} removed`, () => json("DELETE", path(u))));
    return h("tr", { "data-user": u.name, "data-disabled": u.disabled ? "true" : null },
      h("th", { scope: "row" }, u.name, self ? h("span", { class: "muted" }, " (you)") : null),
      h("td", {}, sel),
      h("td", { "data-field": "status" }, u.disabled ? "disabled" : "active"),
      h("td", { "data-field": "mfa" }, u.mfa ? "enrolled" : u.role === "agent" ? "none" : "none: cannot sign in"),
      h("td", {}, when(u.created)),
      h("td", { class: "row-actions" }, h("div", { class: "btns" }, toggle, reset, mfa, remove)),
    );
  }

  async function enrol(u: User): Promise<void> {
    try {
      const r = await json<MFAEnrolled>("POST", `/api/v1/users/${encodeURIComponent(u.name)}/mfa`);
      showOnce(`Second factor for ${u.name}`,
        h("p", {}, "Secret for the authenticator app: ", h("code", { class: "copy" }, r.secret)),
        h("p", {}, "Or as a link: ", h("code", { class: "copy wrap" }, r.uri)),
        h("p", {}, "Recovery codes (each works once):"),
        h("ul", { class: "codes" }, ...r.recovery_codes.map((c) => h("li", {}, h("code", {}, c)))));
      ctx.announce(`Second factor enrolled for ${u.name}`);
      await load();
    } catch (e) {
      ctx.toast((e as Error).message);
    }
  }

  async function load(): Promise<void> {
    try {
      const list = await json<User[]>("GET", "/api/v1/users");
      body.replaceChildren(...list.map(row));
    } catch (e) {
      ctx.toast((e as Error).message);
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const n = name.value.trim();
    if (!n || password.value.length < 8) {
      ctx.toast(!n ? "Enter the new user's name." : "The password needs 8 or more characters.");
      (!n ? name : password).focus();
      return;
    }
    const r = role.value as Role;
    const pw = password.value;
    void act(`${n} added as ${r}`, () => json<User>("POST", "/api/v1/users", { name: n, role: r, password: pw })).then((ok) => {
      if (!ok) return;
      form.reset();
      if (r !== "agent") {
        secret.replaceChildren(h("p", {}, `${n} needs a second factor before signing in: choose Enrol MFA on their row.`));
        secret.hidden = false;
      }
    });
  });
  return { name: "users", title: "Users", el, shown: () => void load() };
}
