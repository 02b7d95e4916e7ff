/** The Leaflet map: the configured basemap (or none), and a layer switcher for results. */

import { escapeHtml } from "./api.js";

const L = globalThis.L;

/**
 * Create the map in `element`.
 * @param {HTMLElement} element
 * @param {{url: string, attribution: string}} basemap url empty = no basemap (offline sites)
 * @returns {{map: L.Map, layers: L.Control.Layers}}
 */
export function createMap(element, basemap) {
  const map = L.map(element, { worldCopyJump: true, zoomSnap: 0.5 }).setView([20, 0], 2);
  const layers = L.control.layers({}, {}, { collapsed: true }).addTo(map);
  if (basemap.url) {
    const base = L.tileLayer(basemap.url, {
      attribution: escapeHtml(basemap.attribution || ""),
      maxZoom: 19,
    }).addTo(map);
    layers.addBaseLayer(base, "Basemap");
  } else {
    element.classList.add("no-basemap");
  }
  L.control.scale({ imperial: false }).addTo(map);
  return { map, layers };
}
