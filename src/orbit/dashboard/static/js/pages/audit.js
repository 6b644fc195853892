// The audit log (global-admin and global-viewer): every write to Orbit, newest first, with
// filters (actor, verb, resource, namespace, outcome, since) kept in the URL, paging by seq
// (beforeSeq: older, afterSeq: newer), and "Verify chain", which walks the hash chain
// (GET /audit/v1/verify) and names the first broken record. docs/api.md#audit,
// docs/security.md#audit.
//
// The log has no watch: the page reads it when asked (filters, paging, Refresh).

import { request } from "../api.js";
import { badge, errorBox, h, replaceChildren, table, timeAgo, utcTime } from "../ui.js";

const PAGE = 50;
const FILTERS = ["actor", "verb", "resource", "namespace", "outcome", "since"];
const OUTCOME_TONES = { success: "ok", denied: "warn", failed: "bad" };

function localInput(iso) {
  // An RFC 3339 time as the value of a datetime-local input (local time, minutes).
  const t = new Date(iso);
  if (!iso || Number.isNaN(t.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

function select(id, name, options, value) {
  return h(
    "select",
    { id, name },
    options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)),
  );
}

function field(id, label, input) {
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

function objectOf(r) {
  if (r.namespace && r.name) return `${r.namespace}/${r.name}`;
  return r.name || r.namespace || "";
}

export async function render(main, params, ctx) {
  main.append(h("h1", {}, "Audit log"));
  const [canList, canVerify] = await Promise.all([ctx.can("list", "audit"), ctx.can("get", "audit")]);
  if (!canList) {
    main.append(errorBox({ code: 403, message: "Reading the audit log needs a global role (global-admin or global-viewer)." }));
    return null;
  }
  const q = ctx.query;
  const inputs = {
    actor: h("input", { id: "audit-actor", name: "actor", value: q.get("actor") || "", autocomplete: "off", spellcheck: "false" }),
    verb: select("audit-verb", "verb", [["", "any"], ["create", "create"], ["update", "update"], ["patch", "patch"], ["delete", "delete"]], q.get("verb") || ""),
    resource: h("input", { id: "audit-resource", name: "resource", value: q.get("resource") || "", placeholder: "clusterdeployments", autocomplete: "off", spellcheck: "false" }),
    namespace: h("input", { id: "audit-namespace", name: "namespace", value: q.get("namespace") || "", autocomplete: "off", spellcheck: "false" }),
    outcome: select("audit-outcome", "outcome", [["", "any"], ["success", "success"], ["denied", "denied"], ["failed", "failed"]], q.get("outcome") || ""),
    since: h("input", { id: "audit-since", name: "since", type: "datetime-local", value: localInput(q.get("since")) }),
  };
  const apply = h("button", { type: "submit", class: "button primary" }, "Apply filters");
  const clear = h("button", { type: "button", class: "button" }, "Clear");
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter audit records" },
    field("audit-actor", "Actor", inputs.actor),
    field("audit-verb", "Verb", inputs.verb),
    field("audit-resource", "Resource", inputs.resource),
    field("audit-namespace", "Namespace", inputs.namespace),
    field("audit-outcome", "Outcome", inputs.outcome),
    field("audit-since", "Since", inputs.since),
    h("div", { class: "buttons" }, apply, clear),
  );

  const verifyResult = h("div", { role: "status", "aria-live": "polite" });
  const verify = canVerify ? h("button", { type: "button", class: "button" }, "Verify chain") : null;
  const refresh = h("button", { type: "button", class: "button" }, "Refresh");
  const newest = h("button", { type: "button", class: "button" }, "Newest");
  const newer = h("button", { type: "button", class: "button" }, "← Newer");
  const older = h("button", { type: "button", class: "button" }, "Older →");
  const position = h("span", { class: "muted" });
  const box = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.append(
    h("p", { class: "lead" }, "Every write to Orbit, whatever its outcome, in a tamper-evident chain."),
    h("div", { class: "page-head" }, h("div", { class: "actions" }, verify, refresh)),
    verifyResult,
    filters,
    box,
    h("nav", { class: "pager", "aria-label": "Audit pages" }, newest, newer, older, position),
  );

  const page = { beforeSeq: q.get("beforeSeq") || "", afterSeq: q.get("afterSeq") || "" };
  let items = [];

  function filterValues() {
    const out = {};
    for (const key of FILTERS) {
      const value = inputs[key].value.trim();
      if (!value) continue;
      out[key] = key === "since" ? new Date(value).toISOString() : value;
    }
    return out;
  }

  async function load() {
    // One more than a page, to know whether there is another page that way.
    const query = { ...filterValues(), limit: PAGE + 1, beforeSeq: page.beforeSeq, afterSeq: page.afterSeq };
    ctx.setQuery(Object.fromEntries(Object.entries(query).filter(([k, v]) => v !== "" && k !== "limit")));
    for (const b of [newest, newer, older, refresh, apply]) b.disabled = true;
    let more;
    try {
      const answer = await request("GET", "/audit/v1/records", { query });
      items = answer.items || [];
      more = items.length > PAGE;
      items = items.slice(0, PAGE);
      if (page.afterSeq) items.reverse(); // afterSeq pages come oldest first
    } catch (err) {
      replaceChildren(box, errorBox(err));
      refresh.disabled = false;
      apply.disabled = false;
      return;
    }
    const atNewest = page.afterSeq ? !more : !page.beforeSeq;
    const atOldest = page.afterSeq ? false : !more;
    replaceChildren(
      box,
      table(
        [
          { label: "Seq", value: (r) => String(r.seq) },
          { label: "When", value: (r) => h("time", { datetime: r.at, title: utcTime(r.at) }, timeAgo(r.at)), className: "nowrap" },
          { label: "Actor", value: (r) => r.actor },
          { label: "Verb", value: (r) => r.verb },
          { label: "Resource", value: (r) => r.resource },
          { label: "Object", value: (r) => objectOf(r), className: "wrap" },
          { label: "Outcome", value: (r) => [badge(r.outcome, OUTCOME_TONES[r.outcome]), ` ${r.code}`], className: "nowrap" },
          { label: "Message", value: (r) => r.message || "", className: "wrap" },
          { label: "Source", value: (r) => r.source || "" },
        ],
        items,
        { empty: "No audit records match.", caption: "Audit records, newest first" },
      ),
    );
    position.textContent = items.length ? `records ${items[items.length - 1].seq} to ${items[0].seq}` : "";
    newest.disabled = !page.afterSeq && !page.beforeSeq;
    newer.disabled = atNewest || !items.length;
    older.disabled = !items.length || atOldest;
    refresh.disabled = false;
    apply.disabled = false;
  }

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    page.beforeSeq = "";
    page.afterSeq = "";
    load();
  });
  clear.addEventListener("click", () => {
    for (const input of Object.values(inputs)) input.value = "";
    page.beforeSeq = "";
    page.afterSeq = "";
    load();
  });
  refresh.addEventListener("click", () => load());
  newest.addEventListener("click", () => {
    page.beforeSeq = "";
    page.afterSeq = "";
    load();
  });
  newer.addEventListener("click", () => {
    page.afterSeq = String(items[0].seq);
    page.beforeSeq = "";
    load();
  });
  older.addEventListener("click", () => {
    page.beforeSeq = String(items[items.length - 1].seq);
    page.afterSeq = "";
    load();
  });
  if (verify) {
    verify.addEventListener("click", async () => {
      verify.disabled = true;
      replaceChildren(verifyResult, h("p", { class: "muted" }, "Verifying…"));
      try {
        const report = await request("GET", "/audit/v1/verify");
        const head = report.head || {};
        const headText = `head ${head.seq}:${head.hash}`;
        if (report.intact) {
          replaceChildren(
            verifyResult,
            h("div", { class: "notice ok verify-result" }, h("strong", {}, "Chain intact: "), `${report.records} records verified.`, h("p", {}, h("code", {}, headText))),
          );
        } else {
          const broken = report.broken || {};
          replaceChildren(
            verifyResult,
            h(
              "div",
              { class: "notice bad verify-result" },
              h("strong", {}, `Chain broken at record ${broken.seq} (${broken.problem}): `),
              broken.message || "",
              h("p", {}, `Last good record: `, h("code", {}, headText)),
            ),
          );
        }
      } catch (err) {
        replaceChildren(verifyResult, errorBox(err));
      } finally {
        verify.disabled = false;
      }
    });
  }
  await load();
  return null;
}
