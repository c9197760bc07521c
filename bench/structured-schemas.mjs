// The schemas of the structured-output benches (bench/xgrammar-eval.mjs; `gpt-oss-ts bench --json-schema bench/schemas/FILE`).
import { readFileSync } from "node:fs";

const read = (name) => JSON.parse(readFileSync(new URL(`./schemas/${name}.json`, import.meta.url), "utf8"));
export const SCHEMAS = {
  "any JSON object": read("any-object"),
  "flat object": read("flat-object"),
  "every feature": read("every-feature"),
};
