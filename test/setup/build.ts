// Compiles src/ to dist/ once before the suite, so tests that spawn the CLI run the current code.
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
}
