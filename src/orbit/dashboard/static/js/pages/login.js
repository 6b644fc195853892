// The sign-in page: paste an API token (POST /auth/v1/session keeps it in an HttpOnly
// cookie), or "Sign in with SSO" when the server has OIDC configured.

import { oidcInfo, signIn, whoami } from "../auth.js";
import { h } from "../ui.js";

/** Where to go after signing in: a /ui/ path from ?next=, never another site. */
function nextPath(query) {
  const next = query.get("next") || "/ui/";
  const safe = next.startsWith("/ui/") && !next.startsWith("/ui/login") && !next.includes("\\");
  return safe ? next : "/ui/";
}

export async function render(main, params, ctx) {
  const next = nextPath(ctx.query);
  try {
    await whoami({ refresh: true });
    ctx.navigate(next, { replace: true }); // already signed in
    return;
  } catch {
    // not signed in: show the form
  }

  const error = h("p", { class: "login-error", id: "login-error", role: "alert" });
  const providerError = ctx.query.get("error_description") || ctx.query.get("error");
  if (providerError) error.textContent = `Single sign-on failed: ${providerError}`;
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "orbit_...",
    "aria-describedby": "token-help login-error",
  });
  const submit = h("button", { type: "submit", class: "button primary" }, "Sign in");
  const form = h(
    "form",
    { class: "login-form", novalidate: true },
    h("label", { for: "token" }, "API token"),
    input,
    h(
      "p",
      { class: "help", id: "token-help" },
      "The first admin's token is in admin.token in the data directory of orbit up; ",
      h("code", {}, "orbit token create"),
      " issues more.",
    ),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = "Paste an API token to sign in.";
      input.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    try {
      await signIn(token);
      ctx.navigate(next, { replace: true });
    } catch (err) {
      error.textContent =
        err.code === 401 ? `That token was not accepted: ${err.message}` : err.message;
      submit.disabled = false;
      input.select();
      input.focus();
    }
  });

  const card = h(
    "section",
    { class: "login-card", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◎"), " Sign in to OpsBoard"),
    error,
    form,
  );
  main.append(h("div", { class: "login" }, card));
  input.focus();

  const oidc = await oidcInfo();
  if (oidc.enabled) {
    const href = `/auth/v1/oidc/login?next=${encodeURIComponent(next)}`;
    card.append(
      h("p", { class: "or" }, "or"),
      h("a", { class: "button sso", href }, "Sign in with SSO"),
      oidc.issuer ? h("p", { class: "help" }, `through ${oidc.issuer}`) : null,
    );
  }
}
