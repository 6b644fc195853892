// Create or edit a Credential (namespace-admins and global-admins). Secret values are typed
// into password fields and sent once, in spec.secretData; the API seals them and returns only
// their names (spec.secretKeys), so the form never shows a value, not even the one just typed:
// editing lists the names held, each with an empty field to replace it and a box to remove it
// (null in secretData); a value left empty is kept as it is.
//
// Settings (spec.config) are key/value rows; a value that reads as JSON other than a string
// (42, true, ["a"], {"k": 1}) is sent as that JSON, anything else as text.

import { create, get, replace, resourcePath } from "../api.js";
import { errorBox, formErrors, h, replaceChildren, toast } from "../ui.js";
import { credentialHref, writableNamespaces } from "./credentials.js";

let rowCount = 0;

function field(label, input, help = null) {
  const id = input.id || `f-${++rowCount}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, help ? h("p", { class: "help" }, help) : null);
}

function parseValue(text) {
  try {
    const value = JSON.parse(text);
    if (typeof value !== "string") return value;
  } catch {
    // plain text
  }
  return text;
}

function showValue(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function configRow(rows, key = "", value = undefined) {
  const n = ++rowCount;
  const shown = value === undefined ? "" : showValue(value);
  const keyInput = h("input", { id: `config-key-${n}`, class: "config-key", value: key, autocomplete: "off", spellcheck: "false" });
  const valueInput = h("input", { id: `config-value-${n}`, class: "config-value", value: shown, autocomplete: "off", spellcheck: "false" });
  const remove = h("button", { type: "button", class: "button small", "aria-label": `Remove setting ${key || n}` }, "Remove");
  const row = h(
    "div",
    { class: "row config-row" },
    field("Setting name", keyInput),
    field("Setting value", valueInput),
    remove,
  );
  // An untouched value keeps its stored type ("123" stays a string).
  row.value = () => (valueInput.value === shown && value !== undefined ? value : parseValue(valueInput.value));
  row.key = () => keyInput.value.trim();
  remove.addEventListener("click", () => {
    row.remove();
    const next = rows.querySelector("input");
    if (next) next.focus();
  });
  rows.append(row);
  return keyInput;
}

function newSecretRow(rows) {
  const n = ++rowCount;
  const nameInput = h("input", { id: `secret-name-${n}`, class: "secret-name", autocomplete: "off", spellcheck: "false", placeholder: "e.g. token" });
  const valueInput = h("input", {
    id: `secret-value-${n}`,
    class: "secret-value",
    type: "password",
    autocomplete: "new-password",
    spellcheck: "false",
  });
  const remove = h("button", { type: "button", class: "button small", "aria-label": "Remove this secret value" }, "Remove");
  const row = h("div", { class: "row secret-row" }, field("Secret name", nameInput), field("Secret value", valueInput), remove);
  row.entry = () => {
    const name = nameInput.value.trim();
    valueInput.dataset.field = name ? `spec.secretData.${name}` : "";
    return { name, value: valueInput.value, input: valueInput, nameInput };
  };
  remove.addEventListener("click", () => row.remove());
  rows.append(row);
  return nameInput;
}

function heldSecretRow(rows, name) {
  const n = ++rowCount;
  const valueInput = h("input", {
    id: `secret-held-${n}`,
    class: "secret-value",
    type: "password",
    autocomplete: "new-password",
    spellcheck: "false",
    placeholder: "leave empty to keep",
    dataset: { field: `spec.secretData.${name}` },
  });
  const drop = h("input", { id: `secret-drop-${n}`, type: "checkbox" });
  const row = h(
    "div",
    { class: "row secret-row" },
    h("div", { class: "field" }, h("span", { class: "label" }, "Name"), h("code", {}, name)),
    field(`New value for ${name}`, valueInput),
    h("label", { class: "check", for: drop.id }, drop, `Remove ${name}`),
  );
  drop.addEventListener("change", () => {
    valueInput.disabled = drop.checked;
  });
  row.held = () => ({ name, value: valueInput.value, remove: drop.checked, input: valueInput });
  rows.append(row);
}

export async function render(main, params, ctx) {
  const editing = Boolean(params.name);
  const title = editing ? `Edit credential ${params.name}` : "New credential";
  main.append(
    h("p", { class: "crumbs" }, h("a", { href: "/ui/credentials" }, "Credentials")),
    h("h1", {}, title),
  );

  let current = null;
  let namespaces = [];
  if (editing) {
    try {
      current = await get(resourcePath("credentials", params.namespace, params.name));
    } catch (err) {
      main.append(errorBox(err));
      return null;
    }
    if (!(await ctx.can("update", "credentials", params.namespace))) {
      main.append(errorBox({ code: 403, message: `You may not change credentials in ${params.namespace}.` }));
      return null;
    }
  } else {
    namespaces = await writableNamespaces(ctx);
    if (!namespaces.length) {
      main.append(errorBox({ code: 403, message: "You may not create credentials in any namespace you can see." }));
      return null;
    }
  }

  const wanted = ctx.query.get("namespace") || ctx.namespace;
  const nsSelect = h(
    "select",
    { id: "cred-namespace", name: "metadata.namespace" },
    namespaces.map((ns) => h("option", { value: ns, selected: ns === wanted }, ns)),
  );
  const nameInput = h("input", { id: "cred-name", name: "metadata.name", autocomplete: "off", spellcheck: "false", required: true });
  const providerInput = h("input", {
    id: "cred-provider",
    name: "spec.provider",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    value: current ? current.spec.provider : "",
    disabled: editing,
  });
  const descInput = h("input", { id: "cred-description", name: "spec.description", value: current ? current.spec.description || "" : "" });
  const configRows = h("div", { class: "rows", "data-field": "spec.config" });
  for (const [key, value] of Object.entries((current && current.spec.config) || {})) configRow(configRows, key, value);
  const addConfig = h("button", { type: "button", class: "button small" }, "Add setting");
  addConfig.addEventListener("click", () => configRow(configRows).focus());

  const heldRows = h("div", { class: "rows" });
  for (const name of (current && current.spec.secretKeys) || []) heldSecretRow(heldRows, name);
  const newRows = h("div", { class: "rows", "data-field": "spec.secretData" });
  if (!editing) newSecretRow(newRows);
  const addSecret = h("button", { type: "button", class: "button small" }, "Add secret value");
  addSecret.addEventListener("click", () => newSecretRow(newRows).focus());

  const submit = h("button", { type: "submit", class: "button primary" }, editing ? "Save" : "Create credential");
  const problem = h("div", {});
  const form = h(
    "form",
    { class: "form-card stack", novalidate: true, "aria-label": title },
    problem,
    editing ? null : field("Namespace", nsSelect),
    editing ? null : field("Name", nameInput, "Lowercase letters, digits, '-' and '.'"),
    field("Provider", providerInput, editing ? "The provider of a credential does not change." : "The infrastructure provider, e.g. sim."),
    field("Description", descInput),
    h("fieldset", {}, h("legend", {}, "Settings (spec.config)"), configRows, h("p", {}, addConfig)),
    h(
      "fieldset",
      {},
      h("legend", {}, "Secret values (write-only)"),
      h(
        "p",
        { class: "help" },
        "Values are sent once, sealed by Orbit and never shown again, here or anywhere. ",
        editing ? "Leave a value empty to keep it." : "",
      ),
      heldRows,
      newRows,
      h("p", {}, addSecret),
    ),
    h("div", { class: "actions" }, h("a", { class: "button", href: editing ? credentialHref(params.namespace, params.name) : "/ui/credentials" }, "Cancel"), submit),
  );
  main.append(form);
  (editing ? descInput : nameInput).focus();

  function body() {
    const config = {};
    for (const row of configRows.querySelectorAll(".config-row")) {
      if (row.key()) config[row.key()] = row.value();
    }
    const secretData = {};
    const missing = [];
    for (const row of heldRows.querySelectorAll(".secret-row")) {
      const held = row.held();
      if (held.remove) secretData[held.name] = null;
      else if (held.value) secretData[held.name] = held.value;
    }
    for (const row of newRows.querySelectorAll(".secret-row")) {
      const entry = row.entry();
      if (!entry.name && !entry.value) continue;
      if (!entry.name) missing.push({ field: "", message: "A secret value needs a name." });
      else if (!entry.value) missing.push({ field: entry.input.dataset.field, message: "Type the value (or remove the row)." });
      else secretData[entry.name] = entry.value;
    }
    const spec = {
      provider: current ? current.spec.provider : providerInput.value.trim(),
      description: descInput.value,
      config,
    };
    if (Object.keys(secretData).length) spec.secretData = secretData;
    const metadata = current
      ? {
          name: current.metadata.name,
          namespace: current.metadata.namespace,
          labels: current.metadata.labels,
          annotations: current.metadata.annotations,
          resourceVersion: current.metadata.resourceVersion,
        }
      : { name: nameInput.value.trim(), namespace: nsSelect.value };
    return { missing, object: { apiVersion: "orbit.k8or.io/v1alpha1", kind: "Credential", metadata, spec } };
  }

  function clearSecrets() {
    for (const input of form.querySelectorAll("input[type=password]")) input.value = "";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replaceChildren(problem);
    const { missing, object } = body();
    if (missing.length) {
      formErrors(form, missing);
      return;
    }
    formErrors(form, []);
    submit.disabled = true;
    try {
      const saved = editing
        ? await replace(resourcePath("credentials", params.namespace, params.name), object)
        : await create(resourcePath("credentials", object.metadata.namespace), object);
      clearSecrets();
      toast(editing ? `Credential ${saved.metadata.name} saved.` : `Credential ${saved.metadata.name} created.`, "success");
      ctx.navigate(credentialHref(saved.metadata.namespace, saved.metadata.name));
    } catch (err) {
      submit.disabled = false;
      if (err.causes && err.causes.length) formErrors(form, err.causes);
      else replaceChildren(problem, errorBox(err));
      const first = form.querySelector("[aria-invalid=true]");
      if (first) first.focus();
    }
  });
  return () => clearSecrets();
}
