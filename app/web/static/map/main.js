/**
 * The /map client: pick a process, fill its form, run it asynchronously, follow its progress and
 * see its results on the map; the recent jobs are listed and can be shown again.
 */

import { getJson, postJson } from "./api.js";
import { createMap } from "./basemap.js";
import { ProcessForm } from "./form.js";
import { JobView } from "./job.js";
import { RecentJobs } from "./jobs.js";
import { ResultsView } from "./results.js";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("map-config").textContent);
const { map, layers } = createMap($("map"), config.basemap);
const results = new ResultsView($("job-results"), map, layers);
const recent = new RecentJobs($("jobs"), (jobId) => show(jobId));
const job = new JobView(
  { section: $("job-section"), id: $("job-id"), progress: $("job-progress"), status: $("job-status"), problem: $("job-problem") },
  results,
  () => recent.refresh(),
);
const picker = $("process");
let form = null;

/** Show (and follow, if still running) a job. */
function show(jobId) {
  recent.select(jobId);
  job.follow(jobId);
}

/** Build the form of the process chosen in the picker. */
async function choose(processId) {
  if (form) form.dispose();
  form = null;
  $("execute-form").replaceChildren();
  try {
    const description = await getJson(`processes/${encodeURIComponent(processId)}`);
    if (picker.value !== processId) return; // another process was chosen meanwhile
    $("process-description").textContent = description.description || "";
    form = new ProcessForm($("execute-form"), description, map);
  } catch (error) {
    job.fail(error, "description unavailable");
  }
}

/** Submit the form as an asynchronous job (201 + Location), then follow it. */
async function submit(event) {
  event.preventDefault();
  if (!form) return;
  const button = $("submit");
  button.disabled = true;
  try {
    const processId = form.description.id;
    const { body } = await postJson(`processes/${encodeURIComponent(processId)}/execution`, form.request(), {
      Prefer: "respond-async",
    });
    show(body.jobID);
    recent.refresh();
  } catch (error) {
    job.fail(error, "refused");
  } finally {
    button.disabled = false;
  }
}

async function start() {
  try {
    const { processes } = await getJson("processes");
    picker.replaceChildren(
      ...processes.map((process) => Object.assign(document.createElement("option"), { value: process.id, textContent: `${process.title || process.id} (${process.id})` })),
    );
    picker.disabled = false;
    const wanted = new URLSearchParams(location.search).get("process");
    if (wanted && processes.some((process) => process.id === wanted)) picker.value = wanted;
    await choose(picker.value);
  } catch (error) {
    job.fail(error, "processes unavailable");
  }
}

picker.addEventListener("change", () => choose(picker.value));
$("execute-form").addEventListener("submit", submit);
$("jobs-refresh").addEventListener("click", () => recent.refresh());
document.body.dataset.ready = "false";
Promise.all([start(), recent.refresh()]).finally(() => {
  document.body.dataset.ready = "true";
});
