// One cluster, live: its phase and message, nodes and versions, conditions with their reasons,
// the services delivered to it and their state, available upgrades, and a timeline of its
// Events (and its ServiceSets'). Actions, each offered only when the caller's rules allow it
// (the server still decides, and its refusal is shown): scale (spec.config.workers), upgrade
// (spec.template, one of status.availableUpgrades), extend the lifetime (spec.ttl or
// spec.expiresAt), download an AccessPoint kubeconfig, delete (confirmed). The patches are
// those `orbit scale/upgrade cluster` send.

import { del, getText, liveList, patch, resourcePath } from "../api.js";
import {
  durationError,
  expiryOf,
  formatDuration,
  fullTime,
  labelText,
  loadTemplates,
  parseDuration,
  phaseOf,
  templateFor,
  templateOf,
} from "../fleet.js";
import {
  badge,
  causesOf,
  confirmDialog,
  debounce,
  errorBox,
  formDialog,
  formErrors,
  formField,
  h,
  replaceChildren,
  saveFile,
  table,
  timeAgo,
  toast,
} from "../ui.js";

const LABEL_CLUSTER = "orbit.k8or.io/cluster";
const MAX_EVENTS = 50;

function when(iso) {
  return iso ? h("time", { datetime: iso, title: fullTime(iso) }, timeAgo(iso)) : "";
}

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
  );
}

function conditionTone(condition) {
  const good = condition.type === "Stalled" ? "False" : "True";
  if (condition.status === good) return "ok";
  return condition.status === "Unknown" ? "neutral" : "bad";
}

function section(id, title, ...content) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...content);
}

function wideSection(id, title, ...content) {
  const node = section(id, title, ...content);
  node.classList.add("wide");
  return node;
}

/** The workers parameter of a template's schema ({minimum, maximum, default, ...}), or null. */
function workersParameter(template) {
  const props = template && template.spec.parameters && template.spec.parameters.properties;
  return (props && props.workers) || null;
}

export async function render(main, params, ctx) {
  const { namespace: ns, name } = params;
  const path = resourcePath("clusterdeployments", ns, name);
  const key = `${ns}/${name}`;

  const phase = h("span", { id: "phase" });
  const message = h("p", { class: "status-message", role: "status", "aria-live": "polite" });
  const actions = h("div", { class: "actions-bar", role: "group", "aria-label": "Cluster actions" });
  const gone = h("div", { class: "notice", role: "alert", hidden: true });
  const summary = h("div", {});
  const nodes = h("div", {});
  const conditions = h("div", {});
  const services = h("div", {});
  const upgrades = h("div", {});
  const timeline = h("div", {});
  main.append(
    h("p", { class: "breadcrumb" }, h("a", { href: "/ui/clusters" }, "Clusters"), ` / ${ns} /`),
    h("div", { class: "page-head" }, h("h1", {}, name), phase),
    message,
    gone,
    actions,
    h(
      "div",
      { class: "detail-grid" },
      section("summary-title", "Summary", summary),
      section("nodes-title", "Nodes", nodes),
      wideSection("conditions-title", "Conditions", conditions),
      wideSection("services-title", "Services", services),
      section("upgrades-title", "Available upgrades", upgrades),
      section("events-title", "Events", timeline),
    ),
  );

  let cluster = null;
  let templates = new Map();
  let sets = new Map();
  let events = new Map();
  let deleted = false;
  const asked = new Set();

  const [mayPatch, mayDelete, mayKubeconfig] = await Promise.all([
    ctx.can("patch", "clusterdeployments", ns),
    ctx.can("delete", "clusterdeployments", ns),
    ctx.can("get", "clusterdeployments/kubeconfig", ns),
  ]);

  // ---- actions: built once (so focus stays put while the page updates), shown per state ----
  const scaleButton = h("button", { type: "button", class: "button", onClick: () => scale() }, "Scale");
  const upgradeButton = h("button", { type: "button", class: "button", onClick: () => upgrade() }, "Upgrade");
  const ttlButton = h("button", { type: "button", class: "button", onClick: () => extend() }, "Extend TTL");
  const kubeconfigButton = h(
    "button",
    { type: "button", class: "button", onClick: () => downloadKubeconfig() },
    "Download kubeconfig",
  );
  const deleteButton = h("button", { type: "button", class: "button danger", onClick: () => remove() }, "Delete");
  if (mayPatch) actions.append(scaleButton, upgradeButton, ttlButton);
  if (mayKubeconfig) actions.append(kubeconfigButton);
  if (mayDelete) actions.append(deleteButton);

  function template() {
    return cluster ? templateFor(cluster, templates) : undefined;
  }

  function drawActions() {
    const deleting = deleted || !cluster || phaseOf(cluster) === "Deleting";
    actions.hidden = deleted || !actions.childElementCount;
    const workers = workersParameter(template());
    scaleButton.hidden = Boolean(template()) && !workers;
    const available = (cluster && cluster.status && cluster.status.availableUpgrades) || [];
    upgradeButton.hidden = !available.length;
    ttlButton.textContent = cluster && expiryOf(cluster) ? "Extend TTL" : "Set TTL";
    for (const button of [scaleButton, upgradeButton, ttlButton, deleteButton]) button.disabled = deleting;
  }

  function drawCluster() {
    if (!cluster) return;
    const status = cluster.status || {};
    const tpl = template();
    if (!tpl && !asked.has(templateOf(cluster))) {
      asked.add(templateOf(cluster));
      loadTemplates(ns).then((found) => {
        templates = found;
        drawCluster();
      }, () => {});
    }
    replaceChildren(phase, badge(phaseOf(cluster)));
    message.textContent = status.message || "";
    const expiry = expiryOf(cluster);
    const lifetime = cluster.spec.ttl ? ` (ttl ${cluster.spec.ttl})` : cluster.spec.expiresAt ? " (expiresAt)" : "";
    const templateName = templateOf(cluster);
    const templateHref = tpl
      ? `/ui/templates/clustertemplates/${encodeURIComponent(tpl.metadata.namespace)}/${encodeURIComponent(tpl.metadata.name)}`
      : null;
    replaceChildren(
      summary,
      facts([
        ["Namespace", ns],
        ["Template", templateHref ? h("a", { href: templateHref }, templateName) : templateName],
        ["Provider", tpl ? tpl.spec.provider : ""],
        ["Credential", cluster.spec.credential],
        ["Kubernetes", status.kubernetesVersion || ""],
        ["Endpoint", status.endpoint ? h("code", {}, status.endpoint) : ""],
        ["Parameters", parameterText(cluster.spec.config)],
        ["Labels", labelText(cluster.metadata.labels)],
        ["Created", when(cluster.metadata.creationTimestamp)],
        ["Expires", expiry ? [h("time", { datetime: expiry.toISOString(), title: fullTime(expiry) }, timeAgo(expiry)), lifetime] : "never"],
      ]),
    );

    const n = status.nodes || {};
    const versions = Object.entries(n.versions || {});
    replaceChildren(
      nodes,
      h(
        "p",
        { class: "versions" },
        `${n.ready || 0}/${n.total || 0} ready`,
        versions.length ? " · " : "",
        versions.map(([version, count], i) => [i ? ", " : "", h("code", {}, version), ` × ${count}`]),
      ),
      table(
        [
          { label: "Node", value: (node) => node.name, className: "node-name" },
          {
            label: "Role",
            value: (node) => [node.role, node.machineSize ? h("span", { class: "muted" }, ` · ${node.machineSize}`) : ""],
          },
          { label: "Kubernetes", value: (node) => node.kubernetesVersion },
          { label: "Ready", value: (node) => (node.ready ? badge("Ready") : badge("NotReady", "bad")) },
        ],
        n.items || [],
        { empty: "No nodes yet.", caption: "Nodes" },
      ),
    );

    replaceChildren(
      conditions,
      table(
        [
          { label: "Type", value: (c) => c.type },
          { label: "Status", value: (c) => badge(c.status, conditionTone(c)) },
          { label: "Reason", value: (c) => c.reason || "" },
          { label: "Message", value: (c) => c.message || "" },
          { label: "Changed", value: (c) => when(c.lastTransitionTime) },
        ],
        status.conditions || [],
        { empty: "No conditions reported yet.", caption: "Conditions" },
      ),
    );

    const available = status.availableUpgrades || [];
    replaceChildren(
      upgrades,
      available.length
        ? h(
            "ul",
            { class: "upgrades" },
            available.map((upgradeName) => {
              const target = templates.get(`${tpl ? tpl.metadata.namespace : ns}/${upgradeName}`);
              return h(
                "li",
                {},
                h("code", {}, upgradeName),
                target ? ` Kubernetes ${target.spec.kubernetesVersion} (version ${target.spec.version})` : "",
              );
            }),
          )
        : h("p", { class: "empty" }, "No upgrade is available from this template."),
    );
    drawActions();
  }

  function drawServices() {
    const rows = [];
    for (const set of [...sets.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      for (const service of (set.status && set.status.services) || []) rows.push({ set, service });
    }
    replaceChildren(
      services,
      table(
        [
          { label: "Service", value: ({ service }) => service.name },
          { label: "Template", value: ({ service }) => service.template },
          { label: "Namespace", value: ({ service }) => service.namespace },
          { label: "From", value: ({ set }) => `${set.spec.owner.kind} ${set.spec.owner.name}` },
          { label: "State", value: ({ service }) => badge(service.state, serviceTone(service.state)) },
          {
            label: "Reason",
            value: ({ service }) =>
              [service.reason, service.message].filter(Boolean).join(": ") || "",
          },
        ],
        rows,
        { empty: "No services on this cluster.", caption: "Services" },
      ),
    );
    drawEvents(); // the timeline includes the ServiceSets' events
  }

  function drawEvents() {
    const setNames = new Set([...sets.values()].map((s) => s.metadata.name));
    const uid = cluster && cluster.metadata.uid;
    const mine = [...events.values()].filter((ev) => {
      const ref = ev.involvedObject;
      if (ref.kind === "ClusterDeployment") return ref.name === name && (!uid || !ref.uid || ref.uid === uid);
      return ref.kind === "ServiceSet" && setNames.has(ref.name);
    });
    const stamp = (ev) => ev.lastTimestamp || ev.firstTimestamp || ev.metadata.creationTimestamp || "";
    mine.sort((a, b) => (Date.parse(stamp(b)) || 0) - (Date.parse(stamp(a)) || 0));
    replaceChildren(
      timeline,
      mine.length
        ? h(
            "ol",
            { class: "timeline scroll", tabindex: "0", "aria-label": "Events, newest first" },
            mine.slice(0, MAX_EVENTS).map((ev) =>
              h(
                "li",
                { class: ev.type === "Warning" ? "warning" : "normal" },
                h("div", { class: "timeline-head" }, when(stamp(ev)), " ", badge(ev.reason, ev.type === "Warning" ? "warn" : "neutral"), ev.count > 1 ? ` ×${ev.count}` : "", ev.involvedObject.kind === "ServiceSet" ? h("span", { class: "muted" }, ` services (${ev.involvedObject.name})`) : ""),
                h("p", {}, ev.message),
              ),
            ),
          )
        : h("p", { class: "empty" }, "No events yet."),
    );
  }

  function markDeleted() {
    deleted = true;
    gone.hidden = false;
    replaceChildren(
      gone,
      h("strong", {}, "This cluster no longer exists."),
      " ",
      h("a", { href: "/ui/clusters" }, "Back to the clusters"),
    );
    replaceChildren(phase, badge("Deleted", "muted"));
    message.textContent = "";
    drawActions();
  }

  // ---- the actions ----
  async function scale() {
    const workers = workersParameter(template()) || {};
    const current = cluster.spec.config && cluster.spec.config.workers;
    const items = (cluster.status && cluster.status.nodes && cluster.status.nodes.items) || [];
    const fallback = current ?? workers.default ?? items.filter((n) => n.role === "worker").length;
    const input = h("input", {
      type: "number",
      name: "workers",
      value: String(fallback),
      min: workers.minimum ?? 0,
      max: workers.maximum ?? null,
      step: 1,
      required: true,
      dataset: { field: "spec.config.workers" },
    });
    const range = workers.maximum !== undefined ? `${workers.minimum ?? 0} to ${workers.maximum}` : "0 or more";
    const body = () => ({ spec: { config: { workers: input.value === "" ? null : Number(input.value) } } });
    const check = dryRunner(path, () => (input.value === "" ? null : body()));
    const done = await formDialog({
      title: `Scale ${name}`,
      body: [formField("Worker nodes", input, `The template allows ${range}.`)],
      submitLabel: "Scale",
      onInput: check,
      onSubmit: async () => {
        check.cancel();
        if (input.value === "") throw new Error("Enter the number of worker nodes.");
        await patch(path, body());
        return Number(input.value);
      },
    });
    check.cancel();
    if (done !== null) toast(`Scaling ${name} to ${done} worker${done === 1 ? "" : "s"}.`, "success");
  }

  async function upgrade() {
    const available = cluster.status.availableUpgrades || [];
    const tpl = template();
    const select = h(
      "select",
      { name: "template", dataset: { field: "spec.template" } },
      available.map((upgradeName) => {
        const target = templates.get(`${tpl ? tpl.metadata.namespace : ns}/${upgradeName}`);
        const detail = target ? ` (Kubernetes ${target.spec.kubernetesVersion})` : "";
        return h("option", { value: upgradeName }, upgradeName + detail);
      }),
    );
    const done = await formDialog({
      title: `Upgrade ${name}`,
      body: [
        formField(
          "Move to template",
          select,
          `From ${templateOf(cluster)}${cluster.status.kubernetesVersion ? ` (Kubernetes ${cluster.status.kubernetesVersion})` : ""}; nodes are upgraded one at a time.`,
        ),
      ],
      submitLabel: "Upgrade",
      onSubmit: async () => {
        await patch(path, { spec: { template: select.value } });
        return select.value;
      },
    });
    if (done !== null) toast(`Upgrading ${name} to ${done}.`, "success");
  }

  async function extend() {
    const expiry = expiryOf(cluster);
    const spec = cluster.spec;
    // What the patch changes: the ttl when the cluster has one, else expiresAt.
    const field = spec.ttl ? "spec.ttl" : "spec.expiresAt";
    const input = h("input", {
      type: "text",
      name: "duration",
      value: expiry ? "1h" : "8h",
      autocomplete: "off",
      spellcheck: "false",
      placeholder: "2h",
      required: true,
      dataset: { field },
    });
    const mergePatch = () => {
      const ms = parseDuration(input.value);
      if (ms === null) return null;
      if (spec.ttl) return { spec: { ttl: formatDuration(parseDuration(spec.ttl) + ms) } };
      const from = spec.expiresAt ? Date.parse(spec.expiresAt) : Date.now();
      return { spec: { expiresAt: new Date(from + ms).toISOString().replace(/\.\d+Z$/, "Z") } };
    };
    const localCheck = (fields) => {
      if (parseDuration(input.value) !== null) return true;
      formErrors(fields, [{ field, message: durationError(input.value.trim()) }]);
      return false;
    };
    const check = dryRunner(path, mergePatch, localCheck);
    const now = expiry
      ? `It is torn down ${timeAgo(expiry)} (${fullTime(expiry)})${spec.ttl ? `, ttl ${spec.ttl}` : ""}.`
      : "It has no expiry now.";
    const done = await formDialog({
      title: expiry ? `Extend the lifetime of ${name}` : `Set a lifetime for ${name}`,
      body: [formField(expiry ? "Extend by" : "Delete after", input, `${now} Forms like 90s, 15m, 2h, 7d or 1h30m.`)],
      submitLabel: expiry ? "Extend" : "Set TTL",
      onInput: check,
      onSubmit: async (form, fields) => {
        check.cancel();
        if (!localCheck(fields)) throw new Error(durationError(input.value.trim()));
        const updated = await patch(path, mergePatch());
        return expiryOf(updated);
      },
    });
    check.cancel();
    if (done) toast(`${name} now expires ${timeAgo(done)}.`, "success");
  }

  async function downloadKubeconfig() {
    kubeconfigButton.disabled = true;
    try {
      const text = await getText(`${path}/kubeconfig`, { accept: "application/yaml" });
      saveFile(`${ns}-${name}.kubeconfig.yaml`, text, "application/yaml");
    } catch (err) {
      toast(`No kubeconfig: ${err.message}`, "error");
    } finally {
      kubeconfigButton.disabled = false;
    }
  }

  async function remove() {
    const sure = await confirmDialog(
      `Delete cluster ${name} in ${ns}? Its nodes and everything running on them are torn down. This cannot be undone.`,
      { danger: true, title: `Delete ${name}?`, confirmLabel: "Delete cluster" },
    );
    if (!sure) return;
    try {
      await del(path);
      toast(`Deleting ${name}.`, "success");
    } catch (err) {
      toast(`${name} was not deleted: ${err.message}`, "error");
    }
  }

  // ---- live data ----
  const stops = [];
  try {
    templates = await loadTemplates(ns);
  } catch {
    // no provider or upgrade details; the rest works
  }
  let found = true;
  try {
    stops.push(
      await liveList(resourcePath("clusterdeployments", ns), (objects, event) => {
        const current = objects.get(key);
        if (current) {
          if (deleted) {
            deleted = false; // made again under the same name
            gone.hidden = true;
          }
          cluster = current;
          drawCluster();
          drawEvents();
        } else if (event === null) {
          found = false;
        } else if (cluster && !deleted && event.type !== "ADDED") {
          markDeleted();
        }
      }),
    );
  } catch (err) {
    replaceChildren(main, h("h1", {}, name), errorBox(err));
    return null;
  }
  if (!found) {
    stops.forEach((stop) => stop());
    replaceChildren(
      main,
      h("h1", {}, name),
      errorBox({ code: 404, message: `There is no cluster ${name} in namespace ${ns}.` }),
      h("p", {}, h("a", { href: "/ui/clusters" }, "Back to the clusters")),
    );
    return null;
  }
  const follow = async (plural, target, options, onChange) => {
    try {
      stops.push(await liveList(resourcePath(plural, ns), onChange, options));
    } catch (err) {
      replaceChildren(target, errorBox(err));
    }
  };
  await Promise.all([
    follow("servicesets", services, { labelSelector: `${LABEL_CLUSTER}=${name}` }, (objects) => {
      sets = objects;
      drawServices();
    }),
    follow("events", timeline, {}, (objects) => {
      events = objects;
      drawEvents();
    }),
  ]);
  return () => {
    stops.forEach((stop) => stop());
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  };
}

/** A debounced dry run, for a dialog's onInput: the merge patch `makePatch()` (null: nothing
 * to check) sent with ?dryRun=All to `path`, the API's causes shown in the dialog's fields.
 * `localCheck(fields)` runs first (false: it showed its own message). An answer that arrives
 * after a newer check, or after cancel() (the dialog submitted), is dropped. */
function dryRunner(path, makePatch, localCheck = () => true) {
  let latest = 0;
  const run = debounce(async (form, fields) => {
    const n = ++latest;
    if (!localCheck(fields)) return;
    const body = makePatch();
    if (!body) return;
    let causes = [];
    try {
      await patch(path, body, { dryRun: true });
    } catch (err) {
      causes = causesOf(err);
    }
    if (n === latest) formErrors(fields, causes);
  }, 300);
  const check = (...args) => run(...args);
  check.cancel = () => {
    latest++;
    run.cancel();
  };
  return check;
}

/** Template parameters as "workers=2, machineSize=small". */
function parameterText(config) {
  return Object.entries(config || {})
    .map(([key, value]) => `${key}=${typeof value === "object" ? JSON.stringify(value) : value}`)
    .join(", ");
}

function serviceTone(state) {
  if (state === "Deployed") return "ok";
  if (state === "Failed") return "bad";
  if (state === "Drifted") return "warn";
  if (state === "Deleting") return "muted";
  return "progress";
}
