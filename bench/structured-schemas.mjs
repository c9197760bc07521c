// Schemas used by the structured-output benches (bench/xgrammar-eval.mjs, gpt-oss-ts bench --json-schema).
export const SCHEMAS = {
  "any JSON object": { type: "object" },
  "flat object": {
    type: "object",
    properties: { name: { type: "string", maxLength: 40 }, age: { type: "integer" }, ok: { type: "boolean" } },
    required: ["name", "age", "ok"], additionalProperties: false,
  },
  "every feature": {
    type: "object",
    properties: {
      id: { type: "string", pattern: "^[A-Z]{2}-[0-9]{3,5}$" },
      kind: { enum: ["book", "film", "song"] },
      version: { const: 2 },
      title: { type: "string", maxLength: 60 },
      score: { type: "number" },
      count: { type: "integer" },
      tags: { type: "array", items: { type: "string", maxLength: 12 }, maxItems: 4 },
      author: {
        type: "object",
        properties: { name: { type: "string", maxLength: 30 }, born: { type: "integer" } },
        required: ["name"], additionalProperties: false,
      },
      extra: { anyOf: [{ type: "string", maxLength: 20 }, { type: "integer" }, { type: "null" }] },
      draft: { type: "boolean" },
    },
    required: ["id", "kind", "version", "title", "author"],
    additionalProperties: false,
  },
};
