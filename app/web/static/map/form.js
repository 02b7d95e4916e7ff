/**
 * The execute form of one process, built from its OGC API description.
 *
 * - literal inputs: a <select> of the allowed values (schema `enum`; several may be chosen where
 *   the input occurs more than once), else an input typed by the schema (number with its bounds,
 *   a true/false select, text), with the default filled in;
 * - bounding boxes: see bbox.js;
 * - complex inputs (GeoTIFF, GeoJSON, zipped shapefile...): a URL, sent as {"href": ...}; one URL
 *   per line where the input takes several;
 * - optional inputs left empty are not sent.
 * Complex outputs are asked for by reference (their download link), literals by value.
 */

import { BBoxInput } from "./bbox.js";
import { h } from "./api.js";

const MEDIA_BY_SUFFIX = { ".zip": "application/zip", ".geojson": "application/geo+json", ".json": "application/geo+json" };

/** "bbox", "complex" or "literal", from an input or output schema. */
export function kindOf(schema = {}) {
  if (schema.format === "ogc-bbox" || schema.properties?.bbox) return "bbox";
  if (schema.oneOf || schema.contentMediaType || schema.type === "object") return "complex";
  return "literal";
}

/** The media types a complex schema lists. */
function mediaTypes(schema) {
  return (schema.oneOf || [schema]).map((entry) => entry.contentMediaType).filter(Boolean);
}

/** A reference to `url`, with a media type when its suffix names one the input accepts. */
function reference(url, schema) {
  const path = new URL(url, document.baseURI).pathname.toLowerCase();
  const suffix = Object.keys(MEDIA_BY_SUFFIX).find((ending) => path.endsWith(ending));
  const type = suffix && MEDIA_BY_SUFFIX[suffix];
  return type && mediaTypes(schema).includes(type) ? { href: url, type } : { href: url };
}

/** Several of a list of allowed values (a multiple select): their array, or undefined for none. */
function choicesField(name, schema, required) {
  const options = schema.enum.map((value) => h("option", { value: String(value) }, String(value)));
  const element = h("select", { name, id: `input-${name}`, required, multiple: true, size: Math.min(options.length, 7) }, ...options);
  const read = schema.type === "number" || schema.type === "integer" ? Number : (text) => text;
  const value = () => {
    const chosen = [...element.selectedOptions].map((option) => read(option.value));
    return chosen.length ? chosen : undefined;
  };
  return { element, value };
}

/** A literal field: its element and how to read it (undefined = left empty). */
function literalField(name, schema, required, maxOccurs) {
  if (Array.isArray(schema.enum) && (maxOccurs === "unbounded" || maxOccurs > 1)) return choicesField(name, schema, required);
  const attributes = { name, id: `input-${name}`, required };
  let element;
  let read = (text) => text;
  if (Array.isArray(schema.enum)) {
    const options = schema.enum.map((value) => h("option", { value: String(value) }, String(value)));
    if (!required && schema.default === undefined) options.unshift(h("option", { value: "" }, ""));
    element = h("select", attributes, ...options);
    if (schema.type === "number" || schema.type === "integer") read = Number;
  } else if (schema.type === "boolean") {
    element = h("select", attributes, h("option", { value: "" }, ""), h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"));
    read = (text) => text === "true";
  } else if (schema.type === "number" || schema.type === "integer") {
    const step = schema.type === "integer" ? "1" : "any";
    element = h("input", { ...attributes, type: "number", step });
    if (schema.minimum !== undefined) element.min = String(schema.minimum);
    if (schema.maximum !== undefined) element.max = String(schema.maximum);
    read = Number;
  } else {
    element = h("input", { ...attributes, type: "text" });
  }
  if (schema.default !== undefined) element.value = String(schema.default);
  return { element, value: () => (element.value.trim() === "" ? undefined : read(element.value.trim())) };
}

/** A complex field: URL(s) of the data. */
function complexField(name, schema, required, maxOccurs) {
  const several = maxOccurs === "unbounded" || maxOccurs > 1;
  const attributes = { name, id: `input-${name}`, required, placeholder: several ? "one URL per line" : "https://..." };
  const element = several ? h("textarea", { ...attributes, rows: 2 }) : h("input", { ...attributes, type: "url" });
  const value = () => {
    const urls = element.value.split(/\s+/).filter(Boolean).map((url) => reference(url, schema));
    if (urls.length === 0) return undefined;
    return several ? urls : urls[0];
  };
  return { element, value };
}

export class ProcessForm {
  /**
   * @param {HTMLFormElement} form emptied and filled with the process's fields
   * @param {object} description OGC API process description
   * @param {L.Map} map where bounding boxes are drawn
   */
  constructor(form, description, map) {
    this.form = form;
    this.description = description;
    this.fields = {};
    this.disposables = [];
    form.replaceChildren();
    for (const [name, input] of Object.entries(description.inputs || {})) {
      form.append(this.row(name, input, map));
    }
    form.append(h("button", { type: "submit", id: "submit" }, "Run"));
  }

  /** The label, field and help of one input. */
  row(name, input, map) {
    const schema = input.schema || {};
    const required = (input.minOccurs ?? 1) > 0;
    let field;
    const kind = kindOf(schema);
    if (kind === "bbox") {
      field = new BBoxInput(name, schema, required, map);
      this.disposables.push(field);
    } else if (kind === "complex") {
      field = complexField(name, schema, required, input.maxOccurs ?? 1);
    } else {
      field = literalField(name, schema, required, input.maxOccurs ?? 1);
    }
    this.fields[name] = field;
    const label = h("label", { htmlFor: `input-${name}` }, input.title || name, required ? " *" : "");
    const help = input.description ? h("small", {}, input.description) : null;
    return h("div", { className: `field field-${kind}` }, label, field.element, help);
  }

  /** The execute request body of what the form holds. */
  request() {
    const inputs = {};
    for (const [name, field] of Object.entries(this.fields)) {
      const value = field.value();
      if (value !== undefined) inputs[name] = value;
    }
    const outputs = {};
    for (const [name, output] of Object.entries(this.description.outputs || {})) {
      outputs[name] = { transmissionMode: kindOf(output.schema) === "complex" ? "reference" : "value" };
    }
    return { inputs, outputs, response: "document" };
  }

  /** Remove what the form put on the map. */
  dispose() {
    for (const field of this.disposables) field.dispose();
  }
}
