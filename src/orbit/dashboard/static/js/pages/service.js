// One MultiClusterService, live: its rollout (revision, state, the wave in progress), each
// wave's clusters and progress, the matching clusters (its label selector over the namespace's
// ClusterDeployments) with their service state and reason, and the actions the API offers:
//
//   Hold / Resume   spec.paused true / false (docs/services.md: "spec.paused: true holds a
//                   rollout where it is")
//   Roll back       spec.services set back to status.rollout.previousServices, the services of
//                   the stable revision (the last one that completed); Orbit rolls that out as
//                   a new revision, wave by wave. The API has no other rollback trigger (the
//                   automatic one is spec.rollout.onFailure: Rollback, per failed wave).
//
// Actions are offered only to those who may patch multiclusterservices in the namespace.
// Two watches: the namespace's MultiClusterServices (this one picked out) and the clusters its
// selector matches (restarted when the selector changes).

import { liveList, patch, resourcePath, selectorQuery } from "../api.js";
import { badge, confirmDialog, errorBox, facts, h, replaceChildren, table, timeAgo, toast } from "../ui.js";
import { clusterHref, phaseOf } from "../fleet.js";
import { WAVE_LABELS, rolloutBadge, serviceBadge, wavesOf } from "./services.js";

function same(a, b) {
  return JSON.stringify(a || []) === JSON.stringify(b || []);
}

function waveRule(mcs, name) {
  const wave = ((mcs.spec.rollout || {}).waves || []).find((w) => w.name === name);
  if (!wave) return name === "all" ? "every matching cluster" : "clusters no other wave takes";
  if (wave.percent !== null && wave.percent !== undefined) return `${wave.percent}% of the clusters (cumulative)`;
  return `clusters matching ${selectorQuery(wave.selector) || "everything"}`;
}

function wavesList(mcs) {
  const waves = wavesOf(mcs);
  const rollout = (mcs.status && mcs.status.rollout) || {};
  return h(
    "ol",
    { class: "waves", "aria-label": "Waves" },
    waves.map((wave, i) => {
      const [label, tone] = WAVE_LABELS[wave.state];
      const total = wave.clusters.length;
      return h(
        "li",
        { class: "wave", dataset: { wave: wave.name, state: wave.state } },
        h("h3", {}, `${i + 1}. ${wave.name}`, badge(label, tone)),
        h("p", { class: "wave-step" }, waveRule(mcs, wave.name)),
        h(
          "p",
          { class: "wave-step" },
          `${wave.updated}/${total} cluster${total === 1 ? "" : "s"} updated and healthy`,
        ),
        wave.state === "in-progress" && rollout.message ? h("p", { class: "wave-step" }, rollout.message) : null,
        total
          ? h("progress", { max: String(total), value: String(wave.updated), "aria-label": `Wave ${wave.name} progress` })
          : null,
        total
          ? h(
              "ul",
              {},
              wave.clusters.map((c) =>
                h("li", {}, h("span", {}, c.name, c.revision ? h("span", { class: "muted" }, ` r${c.revision}`) : null), serviceBadge(c.state)),
              ),
            )
          : h("p", { class: "muted" }, "No clusters in this wave."),
      );
    }),
  );
}

function clusterRows(mcs, clusters) {
  const entries = new Map(((mcs.status && mcs.status.clusters) || []).map((c) => [c.name, c]));
  const names = new Set([...entries.keys(), ...[...clusters.values()].map((c) => c.metadata.name)]);
  return [...names].sort().map((name) => ({
    name,
    entry: entries.get(name) || null,
    cluster: clusters.get(`${mcs.metadata.namespace}/${name}`) || null,
  }));
}

function clustersTable(mcs, clusters) {
  const ns = mcs.metadata.namespace;
  return table(
    [
      {
        label: "Cluster",
        value: (r) => h("a", { href: clusterHref(ns, r.name) }, r.name),
      },
      { label: "Wave", value: (r) => (r.entry && r.entry.wave) || "" },
      { label: "Revision", value: (r) => (r.entry ? String(r.entry.revision) : "") },
      { label: "Services", value: (r) => (r.entry ? serviceBadge(r.entry.state) : h("span", { class: "muted" }, "not yet seen")) },
      { label: "Reason", value: (r) => (r.entry && r.entry.reason) || "", className: "wrap" },
      {
        label: "Cluster phase",
        value: (r) => (r.cluster ? badge(phaseOf(r.cluster)) : h("span", { class: "muted" }, "—")),
      },
    ],
    clusterRows(mcs, clusters),
    { empty: "No cluster matches the selector.", caption: "Matching clusters and their services" },
  );
}

function servicesTable(mcs) {
  return table(
    [
      { label: "Service", value: (s) => s.name },
      { label: "Template", value: (s) => s.template },
      { label: "Namespace", value: (s) => s.namespace || "default" },
      { label: "Values", value: (s) => (s.values && Object.keys(s.values).length ? h("code", {}, JSON.stringify(s.values)) : ""), className: "wrap" },
      { label: "Sync", value: (s) => s.syncMode || "" },
    ],
    mcs.spec.services || [],
    { empty: "No services.", caption: "spec.services" },
  );
}

export async function render(main, params, ctx) {
  const { namespace: ns, name } = params;
  const path = resourcePath("multiclusterservices", ns, name);
  const canPatch = await ctx.can("patch", "multiclusterservices", ns);

  const actions = h("div", { class: "actions" });
  const notice = h("div", { "aria-live": "polite" });
  const overview = h("div", {});
  const wavesBox = h("div", {});
  const clustersBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const servicesBox = h("div", {});
  main.append(
    h("p", { class: "crumbs" }, h("a", { href: "/ui/services" }, "Services"), ` / ${ns}`),
    h("div", { class: "page-head" }, h("h1", {}, name), actions),
    notice,
    overview,
    h("section", { "aria-labelledby": "waves-title" }, h("h2", { id: "waves-title" }, "Waves"), wavesBox),
    h("section", { "aria-labelledby": "clusters-title" }, h("h2", { id: "clusters-title" }, "Clusters"), clustersBox),
    h("section", { "aria-labelledby": "services-title" }, h("h2", { id: "services-title" }, "Services"), servicesBox),
  );

  let mcs = null;
  let clusters = new Map();
  let clusterError = null;
  let selector = null; // the selector the cluster watch follows
  let stopClusters = null;
  let generation = 0;
  let closed = false;
  let actionsKey = null;

  async function act(button, body, done) {
    button.disabled = true;
    try {
      await patch(path, body);
      toast(done, "success");
    } catch (err) {
      toast(err.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  function drawActions() {
    const rollout = (mcs && mcs.status && mcs.status.rollout) || {};
    const previous = rollout.previousServices || [];
    const canRollBack =
      mcs && rollout.stableRevision > 0 && previous.length > 0 && !same(previous, mcs.spec.services);
    const key = mcs && canPatch ? `${mcs.spec.paused}|${canRollBack}|${rollout.stableRevision}` : "";
    if (key === actionsKey) return;
    actionsKey = key;
    if (!key) {
      replaceChildren(actions);
      return;
    }
    const hold = mcs.spec.paused
      ? h("button", { type: "button", class: "button primary" }, "Resume rollout")
      : h("button", { type: "button", class: "button" }, "Hold rollout");
    hold.addEventListener("click", () =>
      mcs.spec.paused
        ? act(hold, { spec: { paused: false } }, "Rollout resumed.")
        : act(hold, { spec: { paused: true } }, "Rollout held where it is."),
    );
    const back = canRollBack
      ? h("button", { type: "button", class: "button danger" }, `Roll back to revision ${rollout.stableRevision}`)
      : null;
    if (back) {
      back.addEventListener("click", async () => {
        const yes = await confirmDialog(
          `This sets spec.services back to the services of revision ${rollout.stableRevision}, the last one that completed. Orbit rolls them out as a new revision, wave by wave.`,
          { title: `Roll back ${name}?`, confirmLabel: "Roll back", danger: true },
        );
        if (yes) await act(back, { spec: { services: previous } }, `Rolling back to the services of revision ${rollout.stableRevision}.`);
      });
    }
    const hadFocus = actions.contains(document.activeElement);
    replaceChildren(actions, hold, back);
    if (hadFocus) hold.focus(); // keyboard users keep their place when the buttons change
  }

  function drawNotice() {
    const rollout = (mcs.status && mcs.status.rollout) || {};
    const items = [];
    if (mcs.spec.paused) {
      items.push(
        h(
          "div",
          { class: "notice warn" },
          h("strong", {}, "Held: "),
          "spec.paused is true, so the rollout stays where it is until it is resumed.",
        ),
      );
    }
    if (rollout.state === "Paused" || rollout.state === "RolledBack") {
      items.push(
        h(
          "div",
          { class: "notice bad", role: "alert" },
          h("strong", {}, rollout.state === "Paused" ? "Rollout stopped: " : "Wave rolled back: "),
          rollout.message || "",
          h("p", {}, "Push a new version of the services, or roll back, to go on. Later waves were not touched."),
        ),
      );
    }
    replaceChildren(notice, items);
  }

  function drawOverview() {
    const status = mcs.status || {};
    const rollout = status.rollout || {};
    const strategy = mcs.spec.rollout || {};
    replaceChildren(
      overview,
      facts(
        [
          ["Summary", status.summary || "no matching clusters"],
          ["Selector", h("code", {}, selectorQuery(mcs.spec.clusterSelector) || "every cluster in the namespace")],
          ["Rollout", rolloutBadge(mcs)],
          ["Revision", String(rollout.revision || 0)],
          ["Stable revision", String(rollout.stableRevision || 0)],
          ["Wave in progress", rollout.wave || (rollout.state === "Complete" ? "none (complete)" : "")],
          ["Failed wave", rollout.failedWave || ""],
          ["Message", rollout.message || ""],
          ["Wave started", rollout.waveStartedAt ? timeAgo(rollout.waveStartedAt) : ""],
          ["Strategy", `${strategy.maxUnavailable ?? 1} at a time, soak ${strategy.soakTime || "0s"}, deadline ${strategy.progressDeadline || "10m"}, on failure ${strategy.onFailure || "Pause"}`],
        ],
        { "aria-label": "Rollout" },
      ),
    );
  }

  function drawClusters() {
    if (!mcs) return;
    replaceChildren(clustersBox, clusterError ? errorBox(clusterError) : null, clustersTable(mcs, clusters));
  }

  function draw() {
    drawActions();
    if (!mcs) {
      replaceChildren(
        notice,
        h("p", { class: "notice" }, `There is no MultiClusterService ${name} in ${ns} (yet). This page shows it as soon as it exists.`),
      );
      replaceChildren(overview);
      replaceChildren(wavesBox);
      replaceChildren(clustersBox);
      replaceChildren(servicesBox);
      return;
    }
    drawNotice();
    drawOverview();
    replaceChildren(wavesBox, wavesList(mcs));
    drawClusters();
    replaceChildren(servicesBox, servicesTable(mcs));
  }

  function followClusters() {
    const wanted = mcs ? selectorQuery(mcs.spec.clusterSelector) : null;
    if (wanted === selector) return;
    selector = wanted;
    if (stopClusters) stopClusters();
    stopClusters = null;
    clusters = new Map();
    clusterError = null;
    const mine = ++generation;
    if (wanted === null) return;
    liveList(
      resourcePath("clusterdeployments", ns),
      (objects) => {
        if (mine !== generation) return;
        clusters = objects;
        drawClusters();
      },
      { labelSelector: wanted },
    ).then(
      (stop) => {
        if (closed || mine !== generation) stop();
        else stopClusters = stop;
      },
      (err) => {
        if (mine !== generation) return;
        clusterError = err;
        drawClusters();
      },
    );
  }

  let stop;
  try {
    stop = await liveList(resourcePath("multiclusterservices", ns), (objects) => {
      mcs = objects.get(`${ns}/${name}`) || null;
      followClusters();
      draw();
    });
  } catch (err) {
    replaceChildren(notice, errorBox(err));
    return null;
  }
  return () => {
    closed = true;
    stop();
    if (stopClusters) stopClusters();
  };
}
