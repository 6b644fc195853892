// Clusters: every cluster of the chosen namespace (the nav's selector), live, with filters by
// label selector (sent to the API, so the watch itself is filtered), phase and provider, and a
// search by name. The filters live in the URL query (?q=&label=&phase=&provider=), so a
// filtered list is a link to share, and the overview's counts link here.

import { liveList, resourcePath } from "../api.js";
import { PHASE_ORDER, byUrgency, clusterHref, expiryOf, fullTime, labelText, loadTemplates, nodesText, phaseOf, providerOf, templateOf } from "../fleet.js";
import { badge, debounce, errorBox, formField, h, replaceChildren, table, timeAgo } from "../ui.js";

/** Whether the caller may create clusters in `namespace`, or ("" = all) in any namespace. */
export async function canCreateClusters(ctx, namespace = ctx.namespace) {
  const candidates = namespace ? [namespace] : ctx.namespaces;
  const answers = await Promise.all(candidates.map((ns) => ctx.can("create", "clusterdeployments", ns)));
  return answers.some(Boolean);
}

function matches(cluster, filters, templates) {
  if (filters.phase && phaseOf(cluster) !== filters.phase) return false;
  if (filters.provider && (providerOf(cluster, templates) || "unknown") !== filters.provider) return false;
  const q = filters.q.trim().toLowerCase();
  return !q || cluster.metadata.name.toLowerCase().includes(q);
}

export async function render(main, params, ctx) {
  const ns = ctx.namespace;
  const filters = {
    q: ctx.query.get("q") || "",
    label: ctx.query.get("label") || "",
    phase: ctx.query.get("phase") || "",
    provider: ctx.query.get("provider") || "",
  };
  const where = ns ? `in ${ns}` : "in all namespaces";

  const search = h("input", { type: "search", name: "q", value: filters.q, autocomplete: "off", placeholder: "Cluster name" });
  const label = h("input", {
    type: "text",
    name: "label",
    value: filters.label,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "env=dev,tier in (a,b)",
  });
  const phase = h(
    "select",
    { name: "phase" },
    h("option", { value: "" }, "Any phase"),
    PHASE_ORDER.map((p) => h("option", { value: p, selected: p === filters.phase }, p)),
  );
  const provider = h("select", { name: "provider" }, h("option", { value: "" }, "Any provider"));
  const labelError = h("p", { class: "field-error", id: "label-error", role: "alert", hidden: true });
  label.setAttribute("aria-errormessage", "label-error");
  const clear = h("button", { type: "reset", class: "button" }, "Clear filters");
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter clusters" },
    formField("Search", search),
    h("div", { class: "field" }, h("label", { for: "cluster-label" }, "Label selector"), label, labelError),
    formField("Phase", phase),
    formField("Provider", provider),
    h("div", { class: "field field-button" }, clear),
  );
  label.id = "cluster-label";
  const count = h("p", { class: "count", role: "status", "aria-live": "polite" });
  const body = h("div", {});
  const heading = h("div", { class: "page-head" }, h("h1", {}, "Clusters"));
  main.append(heading, form, count, body);

  if (await canCreateClusters(ctx)) {
    const href = ns ? `/ui/clusters/new?namespace=${encodeURIComponent(ns)}` : "/ui/clusters/new";
    heading.append(h("a", { class: "button primary", href }, "Create cluster"));
  }

  let templates = new Map();
  let objects = new Map();
  let stop = null;
  let gone = false;

  function drawProviders() {
    const known = new Set([...templates.values()].map((t) => t.spec.provider));
    for (const c of objects.values()) known.add(providerOf(c, templates) || "unknown");
    if (filters.provider) known.add(filters.provider);
    replaceChildren(
      provider,
      h("option", { value: "" }, "Any provider"),
      [...known].sort().map((p) => h("option", { value: p, selected: p === filters.provider }, p)),
    );
  }

  function draw() {
    const all = [...objects.values()];
    const shown = all
      .filter((c) => matches(c, filters, templates))
      .sort(byUrgency);
    const filtered = filters.q || filters.label || filters.phase || filters.provider;
    const noun = all.length === 1 ? "cluster" : "clusters";
    count.textContent = filtered
      ? `${shown.length} of ${all.length} ${noun} ${where} match`
      : `${all.length} ${noun} ${where}`;
    const now = Date.now();
    replaceChildren(
      body,
      table(
        [
          {
            label: "Name",
            value: (c) => h("a", { href: clusterHref(c.metadata.namespace, c.metadata.name) }, c.metadata.name),
          },
          ns ? null : { label: "Namespace", value: (c) => c.metadata.namespace },
          { label: "Phase", value: (c) => badge(phaseOf(c)) },
          { label: "Template", value: (c) => templateOf(c) },
          { label: "Provider", value: (c) => providerOf(c, templates) },
          { label: "Nodes", value: nodesText },
          { label: "Kubernetes", value: (c) => (c.status && c.status.kubernetesVersion) || "" },
          { label: "Labels", value: (c) => labelText(c.metadata.labels), className: "labels" },
          {
            label: "Expires",
            value: (c) => {
              const at = expiryOf(c);
              return at ? h("time", { datetime: at.toISOString(), title: fullTime(at) }, timeAgo(at, now)) : "";
            },
          },
          { label: "Age", value: (c) => timeAgo(c.metadata.creationTimestamp, now) },
        ].filter(Boolean),
        shown,
        {
          empty: filtered ? "No cluster matches these filters." : `No clusters ${where} yet.`,
          caption: "Clusters, most urgent first",
        },
      ),
    );
  }

  function showLabelError(message) {
    labelError.textContent = message;
    labelError.hidden = !message;
    if (message) label.setAttribute("aria-invalid", "true");
    else label.removeAttribute("aria-invalid");
  }

  let following = 0; // the latest follow(); an older one that resolves late stops itself

  async function follow() {
    const n = ++following;
    if (stop) stop();
    stop = null;
    try {
      const next = await liveList(
        resourcePath("clusterdeployments", ns),
        (current) => {
          if (n !== following) return;
          objects = current;
          drawProviders();
          draw();
        },
        { labelSelector: filters.label },
      );
      if (gone || n !== following) {
        next();
        return;
      }
      stop = next;
      showLabelError("");
    } catch (err) {
      if (n !== following) return;
      if (err.code === 400 && filters.label) showLabelError(err.message);
      else replaceChildren(body, errorBox(err));
    }
  }

  function keepInUrl() {
    ctx.setQuery(filters);
  }

  const refollow = debounce(() => follow(), 400);
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("input", (event) => {
    const name = event.target.name;
    if (!(name in filters)) return;
    filters[name] = event.target.value;
    keepInUrl();
    if (name === "label") refollow();
    else draw();
  });
  form.addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT") {
      filters[event.target.name] = event.target.value;
      keepInUrl();
      draw();
    }
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    const labelChanged = filters.label !== "";
    Object.assign(filters, { q: "", label: "", phase: "", provider: "" });
    search.value = "";
    label.value = "";
    phase.value = "";
    provider.value = "";
    keepInUrl();
    if (labelChanged) follow();
    else draw();
  });

  try {
    templates = await loadTemplates(ns);
  } catch {
    // providers unknown: the list still works
  }
  await follow();
  return () => {
    gone = true;
    refollow.cancel();
    if (stop) stop();
  };
}
