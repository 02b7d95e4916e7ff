/**
 * A succeeded job's results: each raster output's tiles on the map (from the TileJSON its status
 * document links, rel "tiles"), its legend, and a download link per output (the results document's
 * hrefs); literal outputs shown as values. Showing another job's results replaces these.
 */

import { getJson, h } from "./api.js";

const L = globalThis.L;

/** "-1" / "0.25" / "1.2e+3": a legend label. */
function formatNumber(value) {
  return Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(2) : String(Number(value.toFixed(3)));
}

/** The colour stops of a TileJSON, low to high: `legend_stops` (TileJSON's own `legend` is text),
 * or a `legend` that is a list of stops. */
function stopsOf(tilejson) {
  if (Array.isArray(tilejson.legend_stops)) return tilejson.legend_stops;
  return Array.isArray(tilejson.legend) ? tilejson.legend : [];
}

/** A legend: a colour ramp from the TileJSON's stops, with the values at its ends and middle. */
export function legendElement(tilejson) {
  const stops = stopsOf(tilejson);
  if (stops.length === 0) return null;
  const low = stops[0].value;
  const high = stops[stops.length - 1].value;
  const span = high - low || 1;
  const gradient = stops.map((stop) => `${stop.color} ${((100 * (stop.value - low)) / span).toFixed(1)}%`).join(", ");
  const ramp = h("div", { className: "legend-ramp" });
  ramp.style.background = `linear-gradient(to right, ${gradient})`;
  const middle = (low + high) / 2;
  const labels = h("div", { className: "legend-labels" }, ...[low, middle, high].map((value) => h("span", {}, formatNumber(value))));
  const title = tilejson.colormap_name ? `${tilejson.name} (${tilejson.colormap_name})` : tilejson.name;
  return h("div", { className: "legend" }, h("div", { className: "legend-title" }, title), ramp, labels);
}

export class ResultsView {
  /**
   * @param {HTMLElement} element where the outputs are listed
   * @param {L.Map} map
   * @param {L.Control.Layers} layers the map's layer switcher
   */
  constructor(element, map, layers) {
    this.element = element;
    this.map = map;
    this.layers = layers;
    this.tileLayers = [];
    this.legend = L.control({ position: "bottomright" });
    this.legend.onAdd = () => h("div", { className: "leaflet-legend" });
  }

  /** Forget the results shown. */
  clear() {
    for (const layer of this.tileLayers) {
      this.layers.removeLayer(layer);
      layer.remove();
    }
    this.tileLayers = [];
    this.legend.remove();
    this.element.replaceChildren();
  }

  /**
   * Show a succeeded job: its outputs (download links, values), then its tile layers. A TileJSON
   * that fails does not hide the rest; the first failure is thrown after everything else is shown.
   */
  async show(status) {
    this.clear();
    const jobId = status.jobID;
    const tileLinks = (status.links || []).filter((link) => link.rel === "tiles");
    const rasters = new Set(tileLinks.map((link) => link.title));
    const results = await getJson(`jobs/${encodeURIComponent(jobId)}/results`);
    const items = Object.entries(results).map(([name, value]) => this.outputItem(jobId, name, value, rasters.has(name)));
    this.element.append(h("h3", {}, "Outputs"), h("ul", { className: "outputs" }, ...items));
    const answers = await Promise.allSettled(tileLinks.map((link) => getJson(link.href)));
    this.addTiles(jobId, answers.filter((answer) => answer.status === "fulfilled").map((answer) => answer.value));
    const failure = answers.find((answer) => answer.status === "rejected");
    if (failure) throw failure.reason;
  }

  /** Add each TileJSON's layer and legend; fit the map to their bounds. */
  addTiles(jobId, tilejsons) {
    if (tilejsons.length === 0) return;
    let bounds = null;
    const legends = [];
    for (const tilejson of tilejsons) {
      const [west, south, east, north] = tilejson.bounds;
      const extent = L.latLngBounds([south, west], [north, east]);
      const layer = L.tileLayer(tilejson.tiles[0], {
        bounds: extent,
        minNativeZoom: tilejson.minzoom,
        maxNativeZoom: tilejson.maxzoom,
        maxZoom: 22,
        className: "result-tiles",
      }).addTo(this.map);
      this.layers.addOverlay(layer, `${tilejson.name} (job ${jobId.slice(0, 8)})`);
      this.tileLayers.push(layer);
      bounds = bounds ? bounds.extend(extent) : extent;
      const legend = legendElement(tilejson);
      if (legend) legends.push(legend);
    }
    if (legends.length) {
      this.legend.addTo(this.map);
      this.legend.getContainer().replaceChildren(...legends);
    }
    const deepest = Math.max(...tilejsons.map((tilejson) => tilejson.maxzoom));
    this.map.fitBounds(bounds, { maxZoom: deepest + 2 }); // a little past the data's own zoom, no further
  }

  /** One output: a download link (by reference, or a raster's file), or its value. */
  outputItem(jobId, name, value, raster) {
    const href = value && typeof value === "object" ? value.href : undefined;
    if (href || raster) {
      const url = href || `outputs/${encodeURIComponent(jobId)}/${encodeURIComponent(name)}.tif`;
      const link = h("a", { href: url, download: "", className: "download" }, `Download ${name}`);
      return h("li", {}, link, value?.type ? h("small", {}, ` ${value.type}`) : null);
    }
    const shown = typeof value === "object" ? JSON.stringify(value) : String(value);
    const text = shown.length > 200 ? `${shown.slice(0, 200)}...` : shown;
    return h("li", {}, h("strong", {}, `${name}: `), h("code", {}, text));
  }
}
