/**
 * A bounding-box input: four numbers, a CRS, and a rectangle drawn on the map.
 *
 * The numbers are west, south, east, north (x then y, as in CRS84 and projected CRSs). "Draw on
 * map" arms the map: drag a rectangle (the map does not pan meanwhile) and the numbers follow, in
 * CRS84 (lon/lat, the EPSG:4326 datum). Edited numbers move the rectangle when the CRS is one the
 * map can show (CRS84, EPSG:4326, EPSG:3857), and the map moves to it when it is out of view.
 * The value sent follows the CRS's own axis order: latitude first for the EPSG:4326 URI, as the
 * service reads URIs.
 */

import { h } from "./api.js";

const L = globalThis.L;
const CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326";
const EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857";
const SIDES = ["west", "south", "east", "north"];

/** A short label for a CRS URI ("EPSG:32631"). */
function crsLabel(uri) {
  if (uri === CRS84) return "EPSG:4326 (lon/lat, CRS84)";
  const match = /\/EPSG\/\d+\/(\d+)$/.exec(uri);
  return match ? `EPSG:${match[1]}` : uri;
}

/** The map's lat/lng bounds of [west, south, east, north] in `crs`, or null if it cannot tell. */
function toLatLngBounds(crs, [west, south, east, north]) {
  if (crs === CRS84 || crs === EPSG4326) return L.latLngBounds([south, west], [north, east]);
  if (crs === EPSG3857) {
    const project = L.Projection.SphericalMercator;
    return L.latLngBounds(project.unproject(L.point(west, south)), project.unproject(L.point(east, north)));
  }
  return null;
}

export class BBoxInput {
  /**
   * @param {string} name input identifier
   * @param {object} schema the input's ogc-bbox schema
   * @param {boolean} required
   * @param {L.Map} map
   */
  constructor(name, schema, required, map) {
    this.name = name;
    this.map = map;
    this.rectangle = null;
    this.disarm = null;
    const choices = schema.properties?.crs?.enum || [CRS84];
    this.drawCrs = [CRS84, EPSG4326].find((uri) => choices.includes(uri)) || choices[0];
    this.numbers = SIDES.map((side) =>
      h("input", { type: "number", step: "any", required, placeholder: side, title: side, name: `${name}.${side}` }),
    );
    this.crs = h("select", { name: `${name}.crs` }, ...choices.map((uri) => h("option", { value: uri }, crsLabel(uri))));
    this.crs.value = schema.properties?.crs?.default || this.drawCrs;
    this.drawButton = h("button", { type: "button", className: "draw" }, "Draw on map");
    this.drawButton.addEventListener("click", () => this.arm());
    for (const input of [...this.numbers, this.crs]) {
      input.addEventListener("input", () => this.showNumbers());
      input.addEventListener("change", () => this.reveal());
    }
    this.element = h("div", { className: "bbox" }, h("div", { className: "bbox-numbers" }, ...this.numbers), this.crs, this.drawButton);
  }

  /** The OGC API bbox value, or undefined when every number is empty. */
  value() {
    const texts = this.numbers.map((input) => input.value.trim());
    if (texts.every((text) => text === "")) return undefined;
    if (texts.some((text) => text === "")) throw new Error(`${this.name}: give all four numbers, or none`);
    const [west, south, east, north] = texts.map(Number);
    const crs = this.crs.value;
    const bbox = crs === EPSG4326 ? [south, west, north, east] : [west, south, east, north];
    return { bbox, crs };
  }

  /** Put the rectangle where the numbers say (when the map can show their CRS). */
  showNumbers() {
    const values = this.numbers.map((input) => input.valueAsNumber);
    const bounds = values.every(Number.isFinite) ? toLatLngBounds(this.crs.value, values) : null;
    this.setRectangle(bounds);
  }

  /** Bring the rectangle into view when it is out of it or too small to see (typed numbers). */
  reveal() {
    const bounds = this.rectangle?.getBounds();
    if (!bounds) return;
    const map = this.map;
    const corner = map.latLngToContainerPoint(bounds.getNorthWest());
    const size = map.latLngToContainerPoint(bounds.getSouthEast()).subtract(corner);
    const view = map.getSize();
    const tiny = size.x < view.x / 20 && size.y < view.y / 20;
    if (tiny || !map.getBounds().contains(bounds)) map.fitBounds(bounds, { padding: [20, 20], animate: false });
  }

  /** Replace the drawn rectangle (null: remove it). */
  setRectangle(bounds) {
    if (this.rectangle) this.rectangle.remove();
    this.rectangle = bounds ? L.rectangle(bounds, { className: "bbox-rectangle", weight: 2, fill: false }).addTo(this.map) : null;
  }

  /** Wait for one drag on the map, then fill the numbers from it. */
  arm() {
    const map = this.map;
    const container = map.getContainer();
    let start = null;
    container.classList.add("drawing");
    this.drawButton.disabled = true;
    map.dragging.disable();
    const move = (event) => {
      if (start) this.setRectangle(L.latLngBounds(start, event.latlng));
    };
    const down = (event) => {
      start = event.latlng;
    };
    const up = (event) => {
      if (!start) return;
      const bounds = L.latLngBounds(start, event.latlng);
      this.disarm();
      this.fill(bounds);
    };
    this.disarm = () => {
      map.off("mousedown", down).off("mousemove", move).off("mouseup", up);
      map.dragging.enable();
      container.classList.remove("drawing");
      this.drawButton.disabled = false;
      this.disarm = null;
    };
    map.on("mousedown", down).on("mousemove", move).on("mouseup", up);
  }

  /** Fill the numbers (lon/lat, CRS84) from map bounds and show them. */
  fill(bounds) {
    const round = (value) => Math.round(value * 1e6) / 1e6;
    const sides = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()];
    this.crs.value = this.drawCrs;
    sides.forEach((value, index) => {
      this.numbers[index].value = String(round(value));
    });
    this.showNumbers();
  }

  /** Remove what this input put on the map. */
  dispose() {
    if (this.disarm) this.disarm();
    this.setRectangle(null);
  }
}
