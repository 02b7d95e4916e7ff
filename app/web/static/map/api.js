/**
 * Requests to the service: same-origin, credentials included (so a browser's HTTP Basic prompt
 * works), URLs relative to the page (so the client works under a proxy's path prefix).
 * Failures become ProblemError carrying the RFC 7807 problem detail the service answered.
 */

/** An HTTP failure with the problem detail of the answer (or its text). */
export class ProblemError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {object} problem RFC 7807 members: type, title, detail, code, locator...
   */
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** The absolute URL of a service path given relative to the page (e.g. "jobs/abc"). */
export function serviceUrl(path) {
  return new URL(path, document.baseURI).href;
}

/** The problem detail of a failed answer: its JSON body, or a minimal one from its text. */
async function problemOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") return body;
  } catch {
    // not JSON: fall through
  }
  const hint = response.status === 401 ? "this service needs credentials" : text.slice(0, 300);
  return { title: response.statusText || `HTTP ${response.status}`, detail: hint, status: response.status };
}

/** Send a request; the answer when 2xx, else a ProblemError. */
async function send(path, init = {}) {
  const response = await fetch(serviceUrl(path), {
    credentials: "same-origin",
    ...init,
    headers: { Accept: "application/json", ...(init.headers || {}) },
  });
  if (!response.ok) throw new ProblemError(response.status, await problemOf(response));
  return response;
}

/** GET a JSON document. */
export async function getJson(path) {
  return (await send(path)).json();
}

/**
 * POST a JSON body.
 * @returns {Promise<{response: Response, body: object}>}
 */
export async function postJson(path, body, headers = {}) {
  const response = await send(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { response, body: await response.json() };
}

/** Text safe to hand to an API that renders HTML (Leaflet attributions). */
export function escapeHtml(text) {
  const element = document.createElement("span");
  element.textContent = text;
  return element.innerHTML;
}

/** A DOM element with attributes (properties) and children (nodes or strings). */
export function h(tag, properties = {}, ...children) {
  const element = Object.assign(document.createElement(tag), properties);
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}
