// signin.ts: the sign-in view.

import type { Bridge } from "../bridge";
import type { Prefs, State } from "../types";
import { h, setDisabled, setHidden, setText, type Act } from "./dom";

export interface SigninView {
  el: HTMLElement;
  update(state: State, prefs: Prefs | null): void;
}

export function signinView(b: Bridge, act: Act): SigninView {
  const server = h("input", { id: "si-server", name: "server", type: "url", autocomplete: "url", required: true, spellcheck: "false" });
  const user = h("input", { id: "si-user", name: "user", type: "text", autocomplete: "username", required: true, spellcheck: "false" });
  const password = h("input", { id: "si-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const ca = h("input", { id: "si-ca", name: "ca", type: "text", spellcheck: "false", placeholder: "/path/to/ca.pem", "aria-describedby": "si-ca-hint" });
  // The one-time code, asked for once the server says the account has a
  // second factor (state.needCode); never kept after a sign-in.
  const code = h("input", { id: "si-code", name: "code", type: "text", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false", maxlength: "19" });
  const codeLabel = h("label", { for: "si-code" }, "Code from your authenticator app");
  const error = h("p", { class: "form-error", role: "alert", id: "si-error" });
  const spinner = h("span", { class: "spinner", "aria-hidden": "true" });
  const label = h("span", {}, "Sign in");
  const submit = h("button", { type: "submit", class: "primary wide" }, spinner, label);
  const status = h("p", { class: "sr-only", "aria-live": "polite" });
  let prefilled = false;
  let savedCA = "";
  let busy = false;

  const form = h("form", { class: "signin card", "aria-labelledby": "si-title", novalidate: true },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), h("h1", { id: "si-title" }, "Hushphone")),
    h("p", { class: "muted" }, "Sign in to take calls."),
    h("label", { for: "si-server" }, "Server"), server,
    h("label", { for: "si-user" }, "Name"), user,
    h("label", { for: "si-password" }, "Password"), password,
    h("details", { class: "signin-more" },
      h("summary", {}, "Connection settings"),
      h("label", { for: "si-ca" }, "Private CA certificate (PEM file)"), ca,
      h("p", { class: "muted hint", id: "si-ca-hint" },
        "Only if your organisation's server has a certificate from its own CA. Empty: the system's trusted CAs. The server's address must start with https:// unless the server runs on this computer."),
    ),
    codeLabel, code,
    error, submit, status,
  );
  let needCode = false;
  const showCode = (on: boolean) => {
    needCode = on;
    setHidden(codeLabel, !on);
    setHidden(code, !on);
  };
  showCode(false);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (busy) return;
    const s = server.value.trim();
    const u = user.value.trim();
    const otp = code.value.trim();
    if (!s || !u || !password.value || (needCode && !otp)) {
      setText(error, !s ? "Enter the server's address." : !u ? "Enter your name." : !password.value ? "Enter your password." : "Enter the code from your authenticator app.");
      setHidden(error, false);
      (!s ? server : !u ? user : !password.value ? password : code).focus();
      return;
    }
    setText(error, "");
    setHidden(error, true);
    const pw = password.value;
    password.value = "";
    const c = ca.value.trim();
    code.value = "";
    void act(async () => {
      // The CA is a remembered setting: saved (and checked) only when it
      // changed, before the sign-in that needs it.
      if (c !== savedCA) {
        await b.SetCA(c);
        savedCA = c;
      }
      await (needCode ? b.SignInWithCode(s, u, pw, otp) : b.SignIn(s, u, pw));
    });
  });

  return {
    el: h("main", { class: "signin-wrap" }, form),
    update(state, prefs) {
      if (!prefilled && prefs) {
        prefilled = true;
        server.value = prefs.server || "http://127.0.0.1:8080";
        user.value = prefs.user || "";
        ca.value = savedCA = prefs.ca || "";
        (user.value ? password : user).focus();
      }
      busy = state.connection === "connecting";
      setDisabled(submit, busy);
      setHidden(spinner, !busy);
      setText(label, busy ? "Connecting…" : "Sign in");
      setText(status, busy ? "Connecting" : "");
      if (state.error) {
        setText(error, state.error);
        setHidden(error, false);
      } else if (busy) {
        setHidden(error, true);
      }
      if (!busy && !!state.needCode !== needCode) {
        showCode(!!state.needCode);
        if (needCode) password.focus();
      }
    },
  };
}
