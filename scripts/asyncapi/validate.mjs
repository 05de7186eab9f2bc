// Validates AsyncAPI documents with the AsyncAPI initiative's own parser (its Spectral rules
// included): exits 1 when any document has an error, printing every diagnostic. Test-time only;
// `scripts/test.sh` installs the parser (`npm ci` here).
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
let failed = false;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(await readFile(file, "utf8"));
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of diagnostics) {
    const level = ["error", "warning", "info", "hint"][d.severity] ?? d.severity;
    console.log(`${file}: ${level}: ${d.code}: ${d.message} at ${d.path.join(".")}`);
  }
  if (!document || errors.length > 0) {
    failed = true;
    console.log(`${file}: INVALID (${errors.length} errors)`);
  } else {
    console.log(`${file}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ${document.operations().length} operations`);
  }
}
process.exit(failed ? 1 : 0);
