// Create a cluster: pick a namespace and a ClusterTemplate it may use (its own, and the
// catalog's that a dry run accepts, i.e. an AccessRule allows), fill a form generated from the
// template's JSON Schema (spec.parameters: types, enums, minimum/maximum, defaults,
// descriptions), name, credential, TTL, labels and services. While typing, the form is sent
// as a dry run (POST ?dryRun=All) and the API's own messages appear next to their fields (for
// the fields already touched); submitting shows every cause. Created: the cluster's page,
// which follows it coming up.

import { create, list, resourcePath } from "../api.js";
import { CATALOG_NAMESPACE, clusterHref } from "../fleet.js";
import { debounce, errorBox, formErrors, formField, h, replaceChildren } from "../ui.js";

const GROUP_VERSION = "orbit.k8or.io/v1alpha1";
/** The name a dry run uses while the name field is still empty. */
const PLACEHOLDER_NAME = "opsboard-dry-run";

async function listOr(path, fallback = []) {
  try {
    return (await list(path)).items;
  } catch {
    return fallback;
  }
}

/** A namespace's own objects of `plural`, then the catalog's it does not shadow. */
async function ownAndCatalog(plural, namespace) {
  const own = await listOr(resourcePath(plural, namespace));
  if (namespace === CATALOG_NAMESPACE) return own;
  const names = new Set(own.map((o) => o.metadata.name));
  const shared = await listOr(resourcePath(plural, CATALOG_NAMESPACE));
  return own.concat(shared.filter((o) => !names.has(o.metadata.name)));
}

/** "k=v" pairs separated by commas or new lines; `errors` lists what is not a pair. */
function parseLabels(text) {
  const labels = {};
  const errors = [];
  for (const raw of text.split(/[,\n]/)) {
    const pair = raw.trim();
    if (!pair) continue;
    const at = pair.indexOf("=");
    if (at <= 0) errors.push(`'${pair}' is not key=value`);
    else labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return { labels, errors };
}

function describe(schema) {
  const parts = [];
  if (schema.description) parts.push(schema.description);
  const lo = schema.minimum ?? schema.exclusiveMinimum;
  const hi = schema.maximum ?? schema.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) parts.push(`${lo} to ${hi}`);
  else if (lo !== undefined) parts.push(`at least ${lo}`);
  else if (hi !== undefined) parts.push(`at most ${hi}`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join("; ") || null;
}

/** Controls for a JSON Schema object's properties. Each control carries data-field
 * "spec.config.<path>" and is recorded in `entries` as {path, read()} (read() answers the
 * value to send, or undefined to leave it out). */
function schemaFields(schema, entries, path = []) {
  const props = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  return Object.entries(props).map(([key, prop]) => {
    const here = [...path, key];
    const field = `spec.config.${here.join(".")}`;
    const label = `${prop.title || key}${required.has(key) ? " (required)" : ""}`;
    const type = Array.isArray(prop.type) ? prop.type.find((t) => t !== "null") : prop.type;
    if (type === "object" && prop.properties) {
      return h(
        "fieldset",
        { class: "subfields", dataset: { field } },
        h("legend", {}, prop.title || key),
        prop.description ? h("p", { class: "help" }, prop.description) : null,
        schemaFields(prop, entries, here),
      );
    }
    let control;
    let read;
    if (Array.isArray(prop.enum)) {
      const options = prop.enum.map((v) => h("option", { value: JSON.stringify(v), selected: v === prop.default }, String(v)));
      const blank = prop.default === undefined ? h("option", { value: "" }, "(choose)") : null;
      control = h("select", { name: field, dataset: { field } }, blank, options);
      read = () => (control.value === "" ? undefined : JSON.parse(control.value));
    } else if (type === "boolean") {
      control = h("input", { type: "checkbox", name: field, checked: prop.default === true, dataset: { field } });
      read = () => control.checked;
    } else if (type === "integer" || type === "number") {
      control = h("input", {
        type: "number",
        name: field,
        value: prop.default === undefined ? "" : String(prop.default),
        min: prop.minimum ?? null,
        max: prop.maximum ?? null,
        step: type === "integer" ? 1 : "any",
        required: required.has(key),
        inputmode: type === "integer" ? "numeric" : "decimal",
        dataset: { field },
      });
      read = () => (control.value === "" ? undefined : Number(control.value));
    } else if (type === "string") {
      control = h("input", {
        type: "text",
        name: field,
        value: prop.default === undefined ? "" : String(prop.default),
        required: required.has(key),
        autocomplete: "off",
        dataset: { field },
      });
      read = () => (control.value === "" ? undefined : control.value);
    } else {
      // arrays and anything else: JSON typed by hand
      control = h("textarea", {
        name: field,
        rows: 2,
        spellcheck: "false",
        dataset: { field },
        value: prop.default === undefined ? "" : JSON.stringify(prop.default),
      });
      read = () => {
        if (control.value.trim() === "") return undefined;
        try {
          return JSON.parse(control.value);
        } catch {
          return control.value; // the API says what is wrong with it
        }
      };
    }
    entries.push({ path: here, read });
    return formField(label, control, describe(prop));
  });
}

function configFrom(entries) {
  const config = {};
  for (const { path, read } of entries) {
    const value = read();
    if (value === undefined) continue;
    let node = config;
    for (const part of path.slice(0, -1)) node = node[part] = node[part] || {};
    node[path[path.length - 1]] = value;
  }
  return config;
}

export async function render(main, params, ctx) {
  main.append(h("h1", {}, "Create a cluster"));
  const allowed = [];
  const checks = await Promise.all(ctx.namespaces.map((ns) => ctx.can("create", "clusterdeployments", ns)));
  ctx.namespaces.forEach((ns, i) => checks[i] && allowed.push(ns));
  if (!allowed.length) {
    main.append(errorBox({ code: 403, message: "Your roles do not allow creating clusters in any namespace." }));
    return null;
  }
  const wanted = ctx.query.get("namespace") || ctx.namespace;
  let namespace = allowed.includes(wanted) ? wanted : allowed[0];

  // ---- the controls that keep their values across namespace and template changes ----
  const namespaceSelect = h(
    "select",
    { name: "namespace", dataset: { field: "metadata.namespace" } },
    allowed.map((ns) => h("option", { value: ns, selected: ns === namespace }, ns)),
  );
  const templateSelect = h("select", { name: "template", required: true, dataset: { field: "spec.template" } });
  const templateInfo = h("div", { class: "template-info", "aria-live": "polite" });
  const nameInput = h("input", {
    type: "text",
    name: "name",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "demo",
    dataset: { field: "metadata.name" },
  });
  const credentialSelect = h("select", { name: "credential", required: true, dataset: { field: "spec.credential" } });
  const ttlInput = h("input", {
    type: "text",
    name: "ttl",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "8h",
    dataset: { field: "spec.ttl" },
  });
  const labelsInput = h("input", {
    type: "text",
    name: "labels",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "env=dev, team=a",
    dataset: { field: "metadata.labels" },
  });
  const parameters = h("div", { class: "parameters" });
  const servicesBox = h("div", { class: "services" });
  const status = h("p", { class: "check-status", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Create cluster");
  const form = h(
    "form",
    { class: "create-form", novalidate: true, "aria-labelledby": "create-title" },
    h(
      "fieldset",
      {},
      h("legend", { id: "create-title" }, "Template"),
      formField("Namespace", namespaceSelect),
      formField("Cluster template", templateSelect, "Templates of this namespace, and the catalog's an AccessRule lets it use."),
      templateInfo,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Cluster"),
      formField("Name", nameInput, "Lowercase letters, digits, '-' and '.'."),
      formField("Credential", credentialSelect, "Infrastructure account for the template's provider."),
    ),
    h("fieldset", {}, h("legend", {}, "Parameters"), parameters),
    h(
      "fieldset",
      {},
      h("legend", {}, "Lifetime and labels"),
      formField("TTL", ttlInput, "Delete the cluster this long after creation (90s, 15m, 2h, 7d, 1h30m); empty: keep it."),
      formField("Labels", labelsInput, "key=value pairs, comma-separated."),
    ),
    h("fieldset", { class: "wide" }, h("legend", {}, "Services"), servicesBox),
    h("div", { class: "form-actions" }, submit, h("a", { class: "button", href: "/ui/clusters" }, "Cancel"), status),
  );
  main.append(form);

  // ---- state ----
  let templates = []; // usable ClusterTemplates of the namespace
  let credentials = [];
  let serviceTemplates = [];
  let entries = []; // the parameter controls
  let services = []; // [{name, template, namespace}]
  const touched = new Set(); // data-field values the person has changed
  let checking = 0; // the latest dry run (older answers are dropped)
  let gone = false;

  function chosenTemplate() {
    return templates.find((t) => `${t.metadata.namespace}/${t.metadata.name}` === templateSelect.value);
  }

  function body() {
    const template = chosenTemplate();
    const { labels, errors } = parseLabels(labelsInput.value);
    const spec = {
      template: template ? template.metadata.name : "",
      credential: credentialSelect.value,
      config: configFrom(entries),
    };
    if (ttlInput.value.trim()) spec.ttl = ttlInput.value.trim();
    const chosen = services.filter((s) => s.name || s.template);
    if (chosen.length) spec.services = chosen.map((s) => ({ name: s.name, template: s.template, namespace: s.namespace || "default" }));
    const manifest = {
      apiVersion: GROUP_VERSION,
      kind: "ClusterDeployment",
      metadata: { name: nameInput.value.trim(), namespace, labels },
      spec,
    };
    const local = errors.map((message) => ({ field: "metadata.labels", message, reason: "FieldValueInvalid" }));
    return { manifest, local };
  }

  function placed(cause) {
    return cause.field && form.querySelector(`[data-field="${CSS.escape(cause.field)}"]`);
  }

  /** Show causes: all of them (submit), or those of touched fields and those no field holds. */
  function show(causes, { all }) {
    const shown = all
      ? causes
      : causes.filter((c) => !placed(c) || touched.has(c.field) || [...touched].some((f) => c.field.startsWith(`${f}.`)));
    formErrors(form, shown);
    return shown.length;
  }

  async function check() {
    const n = ++checking;
    const { manifest, local } = body();
    if (!manifest.metadata.name) manifest.metadata.name = PLACEHOLDER_NAME;
    status.textContent = "Checking…";
    let causes = [];
    try {
      await create(resourcePath("clusterdeployments", namespace), manifest, { dryRun: true });
    } catch (err) {
      if (n !== checking || gone) return;
      causes = err.causes && err.causes.length ? err.causes : [{ field: "", message: err.message }];
    }
    if (n !== checking || gone) return;
    const shown = show(local.concat(causes), { all: false });
    status.textContent = shown ? `${shown} problem${shown === 1 ? "" : "s"} to fix` : "The API accepts this cluster.";
  }
  const checkSoon = debounce(check, 350);

  // ---- drawing ----
  function drawCredentials() {
    const template = chosenTemplate();
    const provider = template ? template.spec.provider : null;
    const usable = credentials.filter((c) => !provider || c.spec.provider === provider);
    const previous = credentialSelect.value;
    replaceChildren(
      credentialSelect,
      usable.length ? null : h("option", { value: "" }, provider ? `No credential for ${provider}` : "(none)"),
      usable.map((c) =>
        h(
          "option",
          { value: c.metadata.name, selected: c.metadata.name === previous },
          c.metadata.namespace === namespace ? c.metadata.name : `${c.metadata.name} (catalog)`,
        ),
      ),
    );
  }

  function drawTemplate() {
    const template = chosenTemplate();
    entries = [];
    if (!template) {
      replaceChildren(templateInfo);
      replaceChildren(parameters, h("p", { class: "empty" }, "Pick a template first."));
      drawCredentials();
      return;
    }
    const spec = template.spec;
    replaceChildren(
      templateInfo,
      h(
        "p",
        { class: "help" },
        `${spec.provider} · Kubernetes ${spec.kubernetesVersion} · version ${spec.version}`,
        spec.description ? ` · ${spec.description}` : "",
        spec.upgradeTo && spec.upgradeTo.length ? ` · upgrades to ${spec.upgradeTo.join(", ")}` : "",
      ),
    );
    const fields = schemaFields(spec.parameters, entries);
    replaceChildren(parameters, fields.length ? fields : h("p", { class: "empty" }, "This template has no parameters."));
    drawCredentials();
    ctx.setQuery({ namespace, template: template.metadata.name });
  }

  function drawServices() {
    const options = (selected) => [
      h("option", { value: "" }, "(choose)"),
      serviceTemplates.map((t) =>
        h("option", { value: t.metadata.name, selected: t.metadata.name === selected }, t.metadata.name),
      ),
    ];
    const rows = services.map((service, i) => {
      const base = `spec.services[${i}]`;
      const nameField = h("input", {
        type: "text",
        value: service.name,
        autocomplete: "off",
        spellcheck: "false",
        dataset: { field: `${base}.name` },
        onInput: (e) => {
          service.name = e.target.value.trim();
        },
      });
      const templateField = h(
        "select",
        { dataset: { field: `${base}.template` }, onChange: (e) => (service.template = e.target.value) },
        options(service.template),
      );
      const nsField = h("input", {
        type: "text",
        value: service.namespace,
        autocomplete: "off",
        spellcheck: "false",
        dataset: { field: `${base}.namespace` },
        onInput: (e) => {
          service.namespace = e.target.value.trim();
        },
      });
      const removeButton = h(
        "button",
        {
          type: "button",
          class: "button small",
          "aria-label": `Remove service ${i + 1}`,
          onClick: () => {
            services.splice(i, 1);
            drawServices();
            checkSoon();
          },
        },
        "Remove",
      );
      return h(
        "fieldset",
        { class: "service-row", dataset: { field: base } },
        h("legend", {}, `Service ${i + 1}`),
        formField("Service name", nameField),
        formField("Service template", templateField),
        formField("Namespace in the cluster", nsField),
        removeButton,
      );
    });
    const add = h(
      "button",
      {
        type: "button",
        class: "button",
        onClick: () => {
          services.push({ name: "", template: "", namespace: "default" });
          drawServices();
          const rowsNow = servicesBox.querySelectorAll(".service-row");
          if (rowsNow.length) rowsNow[rowsNow.length - 1].querySelector("input").focus();
        },
      },
      "Add a service",
    );
    replaceChildren(
      servicesBox,
      rows.length ? rows : h("p", { class: "help" }, "Services to deliver to the cluster, besides the template's own."),
      serviceTemplates.length ? add : h("p", { class: "help" }, "No ServiceTemplate is available in this namespace."),
    );
  }

  /** The catalog templates a dry run accepts for `ns` (an AccessRule allows them). */
  async function usable(all, ns) {
    const verdicts = await Promise.all(
      all.map(async (t) => {
        if (t.metadata.namespace === ns) return true;
        const probe = {
          apiVersion: GROUP_VERSION,
          kind: "ClusterDeployment",
          metadata: { name: PLACEHOLDER_NAME, namespace: ns },
          spec: { template: t.metadata.name, credential: "probe", config: {} },
        };
        try {
          await create(resourcePath("clusterdeployments", ns), probe, { dryRun: true });
          return true;
        } catch (err) {
          return !(err.causes || []).some((c) => c.field === "spec.template");
        }
      }),
    );
    return all.filter((t, i) => verdicts[i]);
  }

  async function loadNamespace() {
    const ns = namespace;
    replaceChildren(templateSelect, h("option", { value: "" }, "Loading…"));
    const [allTemplates, creds, svcTemplates] = await Promise.all([
      ownAndCatalog("clustertemplates", ns),
      ownAndCatalog("credentials", ns),
      ownAndCatalog("servicetemplates", ns),
    ]);
    const found = await usable(allTemplates, ns);
    if (gone || ns !== namespace) return;
    templates = found;
    credentials = creds;
    serviceTemplates = svcTemplates;
    const wantedTemplate = ctx.query.get("template");
    const byGroup = (own) => templates.filter((t) => (t.metadata.namespace === ns) === own);
    const option = (t) =>
      h(
        "option",
        { value: `${t.metadata.namespace}/${t.metadata.name}`, selected: t.metadata.name === wantedTemplate },
        `${t.metadata.name} (Kubernetes ${t.spec.kubernetesVersion})`,
      );
    const own = byGroup(true);
    const shared = byGroup(false);
    replaceChildren(
      templateSelect,
      h("option", { value: "" }, templates.length ? "(choose a template)" : "No template is available here"),
      own.length ? h("optgroup", { label: `Namespace ${ns}` }, own.map(option)) : null,
      shared.length ? h("optgroup", { label: `Catalog (${CATALOG_NAMESPACE})` }, shared.map(option)) : null,
    );
    drawTemplate();
    drawServices();
  }

  // ---- events ----
  form.addEventListener("input", (event) => {
    const field = event.target.closest("[data-field]");
    if (field) touched.add(field.dataset.field);
    if (event.target === namespaceSelect || event.target === templateSelect) return; // change below
    checkSoon();
  });
  namespaceSelect.addEventListener("change", async () => {
    namespace = namespaceSelect.value;
    touched.delete("spec.template");
    await loadNamespace();
    checkSoon();
  });
  templateSelect.addEventListener("change", () => {
    touched.add("spec.template");
    drawTemplate();
    checkSoon();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    checkSoon.cancel();
    checking++; // a dry run still under way must not repaint the answer below
    const { manifest, local } = body();
    if (local.length) {
      show(local, { all: true });
      status.textContent = "Fix the labels first.";
      return;
    }
    submit.disabled = true;
    status.textContent = "Creating…";
    try {
      await create(resourcePath("clusterdeployments", namespace), manifest);
      ctx.navigate(clusterHref(namespace, manifest.metadata.name));
    } catch (err) {
      let causes = err.causes && err.causes.length ? err.causes : [{ field: "", message: err.message }];
      if (err.code === 409) causes = [{ field: "metadata.name", message: err.message }];
      const n = show(causes, { all: true });
      status.textContent = `Not created: ${n} problem${n === 1 ? "" : "s"} to fix.`;
      const first = form.querySelector("[aria-invalid=true]");
      if (first) first.focus();
      submit.disabled = false;
    }
  });

  await loadNamespace();
  templateSelect.focus();
  return () => {
    gone = true;
    checkSoon.cancel();
  };
}
