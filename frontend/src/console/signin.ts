// signin.ts: the console's sign-in (POST /api/v1/session), with the
// second factor supervisors and admins have. Agents are refused: their
// place is the desktop app.

import { h, setHidden, setText } from "../ui/dom";
import { ApiError, json, setToken, type SignedIn } from "./api";

export const agentRefusal =
  "This console is for supervisors and admins. Agents take calls in the Hushphone desktop app: sign in there.";

export function signinView(done: (s: SignedIn, name: string) => void): HTMLElement {
  const user = h("input", { id: "signin-user", name: "name", type: "text", autocomplete: "username", required: true, spellcheck: "false", autocapitalize: "off" });
  const password = h("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const otp = h("input", {
    id: "signin-otp", name: "code", type: "text", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false",
    maxlength: "64", "aria-describedby": "signin-otp-hint",
  });
  const error = h("p", { id: "signin-error", class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary wide" }, "Sign in");
  const form = h("form", { id: "signin", class: "signin card", "aria-labelledby": "signin-title", novalidate: true },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), h("h1", { id: "signin-title" }, "Hushphone console")),
    h("p", { class: "muted" }, "For supervisors and admins: the wallboard, live calls, recordings, payments and users."),
    h("label", { for: "signin-user" }, "Name"), user,
    h("label", { for: "signin-password" }, "Password"), password,
    h("label", { for: "signin-otp" }, "One-time code"), otp,
    h("p", { class: "muted hint", id: "signin-otp-hint" }, "The 6-digit code from your authenticator app, or a recovery code."),
    error, submit,
  );
  setHidden(error, true);
  const fail = (text: string, focus: HTMLInputElement) => {
    setText(error, text);
    setHidden(error, false);
    focus.focus();
  };
  let busy = false;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (busy) return;
    const name = user.value.trim();
    const pw = password.value;
    const code = otp.value.replace(/\s+/g, "");
    if (!name) return fail("Enter your name.", user);
    if (!pw) return fail("Enter your password.", password);
    busy = true;
    submit.disabled = true;
    setText(submit, "Signing in…");
    void (async () => {
      try {
        const s = await json<SignedIn>("POST", "/api/v1/session", code ? { name, password: pw, code } : { name, password: pw });
        if (s.role === "agent") {
          // Signed in, but not for here: end that session at once.
          setToken(s.token);
          await json("DELETE", "/api/v1/session").catch(() => {});
          setToken("");
          password.value = "";
          otp.value = "";
          fail(agentRefusal, user);
          return;
        }
        password.value = "";
        otp.value = "";
        setHidden(error, true);
        done(s, name);
      } catch (err) {
        const e = err as ApiError;
        otp.value = "";
        if (e.code === "mfa_required") fail("Enter the code from your authenticator app, then sign in again.", otp);
        else if (e.code === "mfa_invalid") fail(e.message, otp);
        else fail(e.message || "Sign-in failed.", e.status === 401 ? password : user);
      } finally {
        busy = false;
        submit.disabled = false;
        setText(submit, "Sign in");
      }
    })();
  });
  queueMicrotask(() => user.focus());
  return h("div", { class: "signin-wrap" }, form);
}
