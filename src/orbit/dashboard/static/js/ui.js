// Small DOM helpers. Data reaches the page only as text nodes and attribute values, never as
// HTML (no HTML parsing of strings anywhere), so a cluster named "<img onerror=...>" is just a name.

/** Create an element. `attrs`: "class", "for", aria-* and other attributes (strings; true
 * sets an empty attribute; null/false/undefined leaves it out); `on<event>` functions become
 * listeners (onClick -> "click"); `value`, `checked`, `selected`, `disabled`, `hidden` are set
 * as properties; `dataset` takes an object. Children: nodes, strings and numbers (as text),
 * arrays (flattened); null/undefined/false are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (["value", "checked", "selected", "disabled", "hidden"].includes(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Remove every child of `el`, then append `children` (as h() does). Returns `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table. `columns`: [{label, value: (row) => node or text, className?}]; `rows`: any
 * values. `empty`: the text shown instead when there are no rows; `caption` for screen readers
 * and sighted users alike. Wrapped in a scroll box for narrow screens. */
export function table(columns, rows, { empty = "Nothing here yet.", caption = null } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.className }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((row) => h("tr", {}, columns.map((c) => h("td", { class: c.className }, c.value(row))))),
      ),
    ),
  );
}

const PHASE_TONES = {
  Ready: "ok",
  Active: "ok",
  Succeeded: "ok",
  Pending: "progress",
  Provisioning: "progress",
  Scaling: "progress",
  Upgrading: "progress",
  Updating: "progress",
  Progressing: "progress",
  RollingOut: "progress",
  Failed: "bad",
  Degraded: "bad",
  Deleting: "muted",
  Terminating: "muted",
  Paused: "warn",
};

/** The tone of a phase: "ok" (green), "progress" (blue), "bad" (red), "muted" (grey),
 * "warn" (amber) or "neutral". */
/** Sort objects by namespace, then name (as `orbit get` lists them). */
export function byNamespaceName(a, b) {
  return (
    (a.metadata.namespace || "").localeCompare(b.metadata.namespace || "") ||
    a.metadata.name.localeCompare(b.metadata.name)
  );
}

export function phaseTone(phase) {
  return PHASE_TONES[phase] || "neutral";
}

/** A status badge: `<span class="badge badge-ok">Ready</span>`. */
export function badge(phase, tone = null) {
  const text = phase || "Unknown";
  return h("span", { class: `badge badge-${tone || phaseTone(text)}` }, text);
}

/** "5s ago", "3m ago", "2h ago", "4d ago"; a future time gives "in 2h". `when` is an ISO
 * string, a Date or milliseconds; "" for nothing. */
export function timeAgo(when, now = Date.now()) {
  if (when === null || when === undefined || when === "") return "";
  const t = when instanceof Date ? when.getTime() : typeof when === "number" ? when : Date.parse(when);
  if (Number.isNaN(t)) return "";
  const seconds = Math.round((now - t) / 1000);
  const abs = Math.abs(seconds);
  let text;
  if (abs < 60) text = `${abs}s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)}m`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)}h`;
  else text = `${Math.floor(abs / 86400)}d`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/** A modal question. Resolves true when confirmed, false when cancelled (button or Escape).
 * `danger` styles the confirm button red; `confirmLabel` names it ("Delete"). */
export function confirmDialog(message, { danger = false, title = "Are you sure?", confirmLabel = "Confirm" } = {}) {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", class: "button", value: "cancel" }, "Cancel");
    const ok = h(
      "button",
      { type: "submit", class: danger ? "button danger" : "button primary", value: "confirm" },
      confirmLabel,
    );
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "dialog-title" },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: "dialog-title" }, title),
        h("p", {}, message),
        h("div", { class: "actions" }, cancel, ok),
      ),
    );
    cancel.addEventListener("click", () => dialog.close("cancel"));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus(); // the safe choice is the default
  });
}

/** A short message in the corner, announced to screen readers. `kind`: "info", "success"
 * or "error" (errors stay until dismissed). */
export function toast(message, kind = "info") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(box);
  }
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const item = h("div", { class: `toast toast-${kind}` }, h("span", {}, message), close);
  close.addEventListener("click", () => item.remove());
  box.appendChild(item);
  if (kind !== "error") setTimeout(() => item.remove(), 5000);
  return item;
}

/** Show the server's field errors in a form. Each cause goes next to the element inside
 * `container` whose data-field (or name) is the cause's field ("spec.config.workers"); causes
 * with no such element, or no field, are listed in a summary at the top of the container.
 * Clears what an earlier call showed; `formErrors(container, [])` just clears. Returns how
 * many causes were shown. */
export function formErrors(container, causes) {
  for (const old of container.querySelectorAll(".field-error, .form-errors")) old.remove();
  for (const input of container.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-errormessage");
  }
  const unplaced = [];
  let n = 0;
  for (const cause of causes || []) {
    const field = cause.field || "";
    const target = field
      ? container.querySelector(`[data-field="${CSS.escape(field)}"], [name="${CSS.escape(field)}"]`)
      : null;
    if (!target) {
      unplaced.push(cause);
      continue;
    }
    const id = `err-${field.replace(/[^A-Za-z0-9_-]/g, "-")}-${n++}`;
    const message = h("p", { class: "field-error", id }, cause.message);
    target.setAttribute("aria-invalid", "true");
    target.setAttribute("aria-errormessage", id);
    target.insertAdjacentElement("afterend", message);
  }
  if (unplaced.length) {
    const summary = h(
      "div",
      { class: "form-errors", role: "alert" },
      h("ul", {}, unplaced.map((c) => h("li", {}, c.field ? `${c.field}: ${c.message}` : c.message))),
    );
    container.prepend(summary);
  }
  return n + unplaced.length;
}

/** An error box for a failed load: the server's message, and what to do for 403. */
export function errorBox(err) {
  const forbidden = err && err.code === 403;
  return h(
    "div",
    { class: "error-box", role: "alert" },
    h("strong", {}, forbidden ? "Not allowed" : "Something went wrong"),
    h("p", {}, (err && err.message) || String(err)),
  );
}

// ---- Shared by the Templates, Services, Credentials, Audit and Users pages -----------------

/** A description list of [term, value] pairs (value: a node, text or an array of them); pairs
 * whose value is null, undefined or "" are left out. */
export function facts(pairs, attrs = {}) {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "");
  return h(
    "dl",
    { ...attrs, class: `facts ${attrs.class || ""}`.trim() },
    shown.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
  );
}

/** Names as a list of code chips; `empty` text when there are none. */
export function chips(names, { empty = "none", label = null } = {}) {
  if (!names || !names.length) return h("span", { class: "muted" }, empty);
  return h(
    "ul",
    { class: "chips", "aria-label": label },
    names.map((name) => h("li", {}, h("code", {}, name))),
  );
}

/** A value as pretty-printed JSON in a scrollable <pre>. */
export function jsonBlock(value, { label = null } = {}) {
  return h("pre", { class: "code", tabindex: "0", "aria-label": label }, JSON.stringify(value, null, 2));
}

let modalCount = 0;

/** A modal dialog titled `title` holding `content` (nodes). Escape or close() closes it; it is
 * removed from the page when closed (so nothing it showed, e.g. a new token, stays in the DOM)
 * and `onClose()` is called. Focus moves to its first field or button. Returns
 * {dialog, close}. */
export function modal(title, content, { onClose = null, wide = false } = {}) {
  const id = `modal-title-${++modalCount}`;
  const dialog = h(
    "dialog",
    { class: wide ? "dialog wide" : "dialog", "aria-labelledby": id },
    h("h2", { id }, title),
    content,
  );
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (onClose) onClose();
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  const first = dialog.querySelector("input, select, textarea, button");
  if (first) first.focus();
  return { dialog, close: () => dialog.close() };
}

/** Copy `text` to the clipboard. Resolves true when it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** An ISO time as "2024-05-01 12:00:05 UTC" (seconds precision); "" for nothing. */
export function utcTime(when) {
  if (!when) return "";
  const t = new Date(when);
  if (Number.isNaN(t.getTime())) return String(when);
  return `${t.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

// ---- Shared by the Overview and cluster pages (overview, clusters, cluster, create) --------

/** `fn` called once `ms` after the last call (its latest arguments); `.cancel()` drops a
 * pending call, `.flush()` runs it now. */
export function debounce(fn, ms = 300) {
  let timer = null;
  let pending = null;
  const run = (...args) => {
    pending = args;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const call = pending;
      pending = null;
      fn(...call);
    }, ms);
  };
  run.cancel = () => {
    clearTimeout(timer);
    timer = null;
    pending = null;
  };
  run.flush = () => {
    if (!pending) return;
    const call = pending;
    run.cancel();
    fn(...call);
  };
  return run;
}

let formFieldCount = 0;

/** A labelled control: <div class="field"><label>…</label>{control}<p class="help">…</p></div>.
 * The control gets an id (if it has none) for the label and aria-describedby for the help.
 * Give the control data-field="spec.x" so formErrors() puts the server's cause for that field
 * right after it. */
export function formField(label, control, help = null) {
  if (!control.id) control.id = `field-${++formFieldCount}`;
  let helpNode = null;
  if (help) {
    helpNode = h("p", { class: "help", id: `${control.id}-help` }, help);
    control.setAttribute("aria-describedby", helpNode.id);
  }
  const check = control.type === "checkbox";
  return h(
    "div",
    { class: check ? "field field-check" : "field" },
    check ? null : h("label", { for: control.id }, label),
    check ? h("label", { for: control.id }, control, " ", label) : control,
    helpNode,
  );
}

/** The causes to show for a failed write: the server's field causes, else its message. */
export function causesOf(err) {
  if (err && err.causes && err.causes.length) return err.causes;
  return [{ field: "", message: (err && err.message) || String(err), reason: "" }];
}

let formDialogCount = 0;

/** A modal form. `body`: its fields (nodes; data-field on controls places causes). On submit
 * `onSubmit(form)` runs: its result closes the dialog and resolves the promise (true when it
 * returns nothing); if it throws (an ApiError: the server refused), the causes are shown in the
 * form and the dialog stays open. Cancel and Escape resolve null. `onInput(form, fields)` runs
 * on every input (debounce it yourself), e.g. a dry run shown with formErrors(fields, ...).
 * `danger` styles the submit button red. Focus starts on the first field. */
export function formDialog({ title, body = [], submitLabel = "Save", danger = false, onSubmit, onInput = null }) {
  return new Promise((resolve) => {
    const id = `form-dialog-${++formDialogCount}`;
    const fields = h("div", { class: "dialog-fields" }, body);
    const cancel = h("button", { type: "button", class: "button" }, "Cancel");
    const submit = h("button", { type: "submit", class: danger ? "button danger" : "button primary" }, submitLabel);
    const form = h("form", { novalidate: true }, h("h2", { id }, title), fields, h("div", { class: "actions" }, cancel, submit));
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": id }, form);
    let result = null;
    cancel.addEventListener("click", () => dialog.close());
    if (onInput) form.addEventListener("input", () => onInput(form, fields));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const value = await onSubmit(form, fields);
        result = value === undefined ? true : value;
        dialog.close();
      } catch (err) {
        formErrors(fields, causesOf(err));
        submit.disabled = false;
      }
    });
    const opener = document.activeElement;
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      resolve(result);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    (form.querySelector("input, select, textarea") || submit).focus();
  });
}

/** Save `text` as a file named `filename` (a download the browser offers). */
export function saveFile(filename, text, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
