// A history-API router: route(pattern, loader, options) registers a page, start() renders the
// current URL and intercepts clicks on same-origin /ui/ links, navigate() moves.
//
// A pattern is a path with ":param" segments: "/ui/clusters/:namespace/:name". The loader
// answers the page module (`() => import("./pages/x.js")`), whose
// `render(main, params, ctx)` draws the page into `main` and may return (or resolve to) a
// cleanup function, called before the next page renders (stop watches there).

const routes = [];
let renderer = null;
let sequence = 0;

/** Register a page. `options.title`: a string or `(params) => string` for document.title;
 * other options (e.g. `public`) are kept on the route for the app. */
export function route(pattern, loader, options = {}) {
  const names = [];
  const source = pattern
    .replace(/\/$/, "")
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  routes.push({ ...options, pattern, regex: new RegExp(`^${source}/?$`), names, loader });
}

/** The route matching `pathname`: {route, params} (params decoded), or null. */
export function match(pathname) {
  for (const r of routes) {
    const found = r.regex.exec(pathname);
    if (!found) continue;
    const params = {};
    r.names.forEach((name, i) => {
      params[name] = decodeURIComponent(found[i + 1]);
    });
    return { route: r, params };
  }
  return null;
}

/** Go to `url` (a /ui/ path, with or without a query). `replace` rewrites the current history
 * entry instead of adding one. */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  return rerender();
}

/** Change the query string without rendering again (a page keeping its filters in the URL). */
export function setQuery(params) {
  const query = new URLSearchParams(params);
  for (const [key, value] of [...query]) if (value === "") query.delete(key);
  const text = query.toString();
  history.replaceState(null, "", location.pathname + (text ? `?${text}` : ""));
}

/** Render the current URL again (after a namespace change, sign-in, ...). */
export function rerender() {
  return renderer ? renderer(location.pathname, new URLSearchParams(location.search), ++sequence) : null;
}

/** Whether a later navigation has started since render number `n` (a slow page should stop). */
export function stale(n) {
  return n !== sequence;
}

/** Start routing: `render(pathname, query, n)` is called for every navigation. */
export function start(render) {
  renderer = render;
  window.addEventListener("popstate", () => rerender());
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith("/ui/")) return;
    if (url.pathname.startsWith("/ui/static/")) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  return rerender();
}
