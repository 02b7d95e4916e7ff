/**
 * One job followed to its end: its status document polled (progress, status, message), then its
 * results on the map when it succeeded, or its problem detail when it failed.
 */

import { getJson, h, ProblemError } from "./api.js";

const FINAL = new Set(["successful", "failed", "dismissed"]);
const FIRST_POLL_MS = 300;
const MAX_POLL_MS = 2000;

/** The problem detail of an error, as a list of its members. */
export function problemElement(error) {
  const problem = error instanceof ProblemError ? error.problem : { detail: String(error.message || error) };
  const rows = ["title", "detail", "code", "locator", "type"]
    .filter((key) => problem[key] !== undefined && problem[key] !== null && problem[key] !== "")
    .map((key) => h("div", {}, h("dt", {}, key), h("dd", {}, String(problem[key]))));
  return h("dl", {}, ...rows);
}

export class JobView {
  /**
   * @param {object} elements section, id, progress, status, problem
   * @param {import("./results.js").ResultsView} results
   * @param {(status: object) => void} onFinished called once when a followed job ends
   */
  constructor(elements, results, onFinished) {
    this.elements = elements;
    this.results = results;
    this.onFinished = onFinished;
    this.current = null;
    this.timer = null;
  }

  /** Follow job `jobId` (stops following the previous one). */
  follow(jobId) {
    clearTimeout(this.timer);
    this.current = jobId;
    this.results.clear();
    this.elements.section.hidden = false;
    this.elements.section.dataset.jobId = jobId;
    this.elements.id.textContent = jobId;
    this.elements.problem.hidden = true;
    this.elements.problem.replaceChildren();
    this.render({ status: "accepted", progress: 0 });
    this.poll(jobId, FIRST_POLL_MS);
  }

  /** Show a failure that is not a job's (a refused submission, an unreachable service). */
  fail(error, what = "failed") {
    clearTimeout(this.timer);
    this.current = null;
    this.results.clear();
    this.elements.section.hidden = false;
    delete this.elements.section.dataset.jobId;
    this.elements.id.textContent = "";
    this.render({ status: what, progress: 0 });
    this.showProblem(error);
  }

  async poll(jobId, delay) {
    let status;
    try {
      status = await getJson(`jobs/${encodeURIComponent(jobId)}`);
    } catch (error) {
      if (this.current === jobId) this.fail(error, "unavailable");
      return;
    }
    if (this.current !== jobId) return;
    this.render(status);
    if (!FINAL.has(status.status)) {
      this.timer = setTimeout(() => this.poll(jobId, Math.min(delay * 1.5, MAX_POLL_MS)), delay);
      return;
    }
    await this.finish(status);
    if (this.current === jobId) this.onFinished(status);
  }

  async finish(status) {
    try {
      if (status.status === "successful") {
        await this.results.show(status);
      } else if (status.status === "failed") {
        // the results of a failed job answer its exception as a problem detail
        await getJson(`jobs/${encodeURIComponent(status.jobID)}/results`);
      }
    } catch (error) {
      if (this.current === status.jobID) this.showProblem(error);
    }
  }

  render(status) {
    const progress = status.status === "successful" ? 100 : (status.progress ?? 0);
    this.elements.progress.value = progress;
    this.elements.section.dataset.status = status.status;
    const parts = [status.status, `${progress}%`];
    if (status.processID) parts.unshift(status.processID);
    if (status.message) parts.push(status.message);
    this.elements.status.textContent = parts.join(" · ");
  }

  showProblem(error) {
    this.elements.problem.replaceChildren(problemElement(error));
    this.elements.problem.hidden = false;
  }
}
