/** The recent jobs (GET /jobs?limit=10), newest first; clicking one shows its status and results. */

import { getJson, h } from "./api.js";

const LIMIT = 10;

/** "16:03:22" for today's jobs, else the date and time, in the browser's locale. */
function when(timestamp) {
  if (!timestamp) return "";
  const date = new Date(timestamp);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

export class RecentJobs {
  /**
   * @param {HTMLOListElement} list
   * @param {(jobId: string) => void} onSelect
   */
  constructor(list, onSelect) {
    this.list = list;
    this.onSelect = onSelect;
    this.selected = null;
  }

  /** Mark `jobId` as the one shown. */
  select(jobId) {
    this.selected = jobId;
    for (const item of this.list.children) item.classList.toggle("selected", item.dataset.jobId === jobId);
  }

  /** Fetch and list the recent jobs; a failure (e.g. no credentials) is listed instead. */
  async refresh() {
    let document;
    try {
      document = await getJson(`jobs?limit=${LIMIT}`);
    } catch (error) {
      this.list.replaceChildren(h("li", { className: "error" }, `jobs unavailable: ${error.message}`));
      return;
    }
    const items = (document.jobs || []).map((job) => this.item(job));
    this.list.replaceChildren(...(items.length ? items : [h("li", { className: "empty" }, "no jobs yet")]));
    this.select(this.selected);
  }

  item(job) {
    const button = h(
      "button",
      { type: "button", title: job.jobID },
      h("span", { className: "job-process" }, job.processID || "?"),
      h("span", { className: `job-status status-${job.status}` }, job.status),
      h("span", { className: "job-time" }, when(job.created)),
    );
    button.addEventListener("click", () => this.onSelect(job.jobID));
    const item = h("li", {}, button);
    item.dataset.jobId = job.jobID;
    return item;
  }
}
